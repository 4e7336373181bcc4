import { defineScenario } from '../../src/campaign/scenario.ts';

/**
 * A short tournament scenario (~45 s a run): two edges under steady load; edge-1 is cut off from the
 * cloud and killed -9 while offline, a config is published while it is cut off; heal, converge,
 * every check (incl. the conformance suite), score.
 */
export default defineScenario({
  name: 'quick',
  description: 'partition + kill -9 while offline, a config published during the cut; every check',
  seed: 20261206,
  nodes: [
    { name: 'edge-1', profile: 'rpi4' },
    { name: 'edge-2', profile: 'rpi4' },
  ],
  warmup: '1s',
  duration: '12s',
  load: {
    script: '../../scenarios/load/steady.ts',
    env: { WRITE_RATE: '40', READ_RATE: '10', PAYLOAD_BYTES: '200' },
  },
  faults: [
    {
      kind: 'partition',
      node: 'edge-1',
      at: '2s',
      for: '7s',
      params: { between: 'edge-cloud', direction: 'both' },
    },
    { kind: 'kill', node: 'edge-1', at: '6s', params: { restartAfter: '500ms' } },
  ],
  downlink: { publishAt: ['4s'] },
  convergence: { timeout: '20s' },
  checks: { startup: { samples: 3, maxMs: 500 }, resources: { maxPeakRssBytes: 100e6 }, conformance: true },
});
