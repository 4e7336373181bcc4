import { defineTournament } from '../src/tournament/define.ts';

/** The tournament's own end-to-end test: 2 submissions × 1 tiny scenario × 2 repetitions. */
export default defineTournament({
  name: 'smoke',
  submissions: [
    { name: 'reference', stack: '../stack/edgechaos.stack.ts' },
    { name: 'refuse-offline', stack: '../test/fixtures/stacks/refuse-offline.stack.ts' },
  ],
  scenarios: ['scenarios/tiny.ts'],
  repetitions: 2,
  seeds: [11, 12],
});
