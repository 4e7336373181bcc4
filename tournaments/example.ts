import { defineTournament } from '../src/tournament/define.ts';

/**
 * The worked example: the reference stack against three deliberately broken fixture stacks, each a
 * "submission". What each defect predicts:
 *   - reference       ranks first, every gate passes;
 *   - fat-image       fails the image-size gate (a padded > 10 MB edge image) — everything else as the reference;
 *   - no-downlink     fails the downlink check (the agent never pulls the published config);
 *   - refuse-offline  fails the offline check (the agent refuses writes while the cloud is gone).
 * Run: edgechaos tournament tournaments/example.ts   (leaderboard: reports/example/index.html)
 */
export default defineTournament({
  name: 'example',
  description: 'reference stack vs the fixture stacks (deliberate defects)',
  submissions: [
    { name: 'reference', stack: '../stack/edgechaos.stack.ts' },
    { name: 'fat-image', stack: '../test/fixtures/stacks/fat-image.stack.ts' },
    { name: 'no-downlink', stack: '../test/fixtures/stacks/no-downlink.stack.ts' },
    { name: 'refuse-offline', stack: '../test/fixtures/stacks/refuse-offline.stack.ts' },
  ],
  scenarios: ['../test/fixtures/scenarios/e2e.ts'],
  target: 'local',
  repetitions: 3,
  seeds: [1, 2, 3],
  order: 'interleaved',
});
