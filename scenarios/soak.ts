import { defineScenario } from '../src/campaign/scenario.ts';
import type { TypedFaultEntry } from '../faults/typed.ts';

/** A long run for nightly CI: ramping load, repeated partitions, stress and kills across six edges. */
export default defineScenario({
  name: 'soak',
  description: '30 minutes, six edges, a fault every few minutes, ramping load',
  seed: 42,
  nodes: [
    { profile: 'rpi4' },
    { profile: 'rpi4' },
    { profile: 'rpi-zero' },
    { profile: 'jetson-nano' },
    { profile: 'x86-edge' },
    { profile: 'x86-edge' },
  ],
  warmup: '10s',
  duration: '30m',
  load: { script: 'load/ramping.ts', env: { PEAK_RATE: '400' } },
  faults: [
    ...Array.from({ length: 9 }, (_, i): TypedFaultEntry => ({
      kind: 'partition',
      node: { random: ['edge-1', 'edge-2', 'edge-3', 'edge-4', 'edge-5', 'edge-6'] },
      at: `${2 + i * 3}m`,
      for: '60s',
      params: { between: 'edge-cloud', direction: 'both' },
    })),
    ...Array.from({ length: 5 }, (_, i): TypedFaultEntry => ({
      kind: 'kill',
      node: { random: ['edge-1', 'edge-3', 'edge-5'] },
      at: `${4 + i * 5}m`,
      params: { restartAfter: '3s' },
    })),
    { kind: 'cpu-stress', node: 'edge-4', at: '10m', for: '5m', params: { workers: 2 } },
    { kind: 'memory-stress', node: 'edge-3', at: '20m', for: '2m', params: { size: '200MiB' } },
  ],
  downlink: { publishAt: ['5m', '15m', '25m'] },
  convergence: { timeout: '120s' },
});
