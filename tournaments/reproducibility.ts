import { defineTournament } from '../src/tournament/define.ts';

/**
 * Reproducibility as a measured property: the reference stack, 5 × scenarios/standard.ts with the same
 * seed every time, on one machine. The leaderboard's min–max per criterion is the spread (goal: ±2 %).
 */
export default defineTournament({
  name: 'reproducibility',
  submissions: [{ name: 'reference', stack: '../stack/edgechaos.stack.ts' }],
  scenarios: ['../scenarios/standard.ts'],
  repetitions: 5,
  seeds: [20261125, 20261125, 20261125, 20261125, 20261125],
});
