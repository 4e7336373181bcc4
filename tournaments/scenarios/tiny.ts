import { defineScenario } from '../../src/campaign/scenario.ts';

/** The smallest honest run (for the tournament's own tests): one edge, a 4 s cloud cut, no conformance suite. */
export default defineScenario({
  name: 'tiny',
  description: 'one edge, a short cloud cut; the cheap checks only',
  seed: 7,
  nodes: [{ name: 'edge-1', profile: 'x86-edge' }],
  warmup: '1s',
  duration: '6s',
  load: {
    script: '../../scenarios/load/steady.ts',
    env: { WRITE_RATE: '20', READ_RATE: '5', PAYLOAD_BYTES: '100' },
  },
  faults: [
    {
      kind: 'partition',
      node: 'edge-1',
      at: '1s',
      for: '3s',
      params: { between: 'edge-cloud', direction: 'both' },
    },
  ],
  convergence: { timeout: '15s' },
  checks: { startup: { samples: 1 } },
});
