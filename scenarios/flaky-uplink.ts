import { defineScenario } from '../src/campaign/scenario.ts';

/** A flapping uplink on a randomly chosen edge (seeded) plus resets: sync must stay exactly-once. */
export default defineScenario({
  name: 'flaky-uplink',
  description: 'an uplink that goes down and up on a seeded random schedule, connection resets on another',
  seed: 1234,
  nodes: [{ profile: 'rpi4' }, { profile: 'rpi-zero' }, { profile: 'jetson-nano' }],
  duration: '90s',
  load: { script: 'load/read-heavy.ts', env: { WRITE_RATE: '40', READ_RATE: '80' } },
  faults: [
    {
      kind: 'flap',
      node: { random: ['edge-1', 'edge-2'] },
      at: '5s',
      for: '70s',
      params: { minUp: '2s', maxUp: '8s', minDown: '1s', maxDown: '5s' },
    },
    { kind: 'reset-peer', node: 'edge-3', at: '20s', for: '30s', params: { timeout: '100ms' } },
  ],
  downlink: { publishAt: ['40s'] },
  convergence: { timeout: '60s' },
});
