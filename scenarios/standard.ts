import { defineScenario } from '../src/campaign/scenario.ts';

/**
 * The default campaign: three edges on mixed board profiles under steady load; a 30 s edge↔cloud
 * partition of edge-1, latency + a bandwidth cap on edge-2's uplink, CPU stress on edge-3, a kill -9
 * of edge-2 with restart; a config published while edge-1 is cut off; heal, convergence, checks, score.
 */
export default defineScenario({
  name: 'standard',
  description: 'mixed boards, partition, slow uplink, CPU stress, kill -9; heal and converge',
  seed: 20261125,
  nodes: [
    { name: 'edge-1', profile: 'rpi4' },
    { name: 'edge-2', profile: 'rpi-zero' },
    { name: 'edge-3', profile: 'jetson-nano' },
  ],
  warmup: '3s',
  duration: '60s',
  load: { script: 'load/steady.ts', env: { WRITE_RATE: '60', READ_RATE: '15', PAYLOAD_BYTES: '200' } },
  faults: [
    {
      kind: 'partition',
      node: 'edge-1',
      at: '10s',
      for: '30s',
      params: { between: 'edge-cloud', direction: 'both' },
    },
    { kind: 'latency', node: 'edge-2', at: '5s', for: '40s', params: { latency: '150ms', jitter: '50ms' } },
    { kind: 'bandwidth', node: 'edge-2', at: '5s', for: '40s', params: { rate: '64kbps' } },
    { kind: 'cpu-stress', node: 'edge-3', at: '15s', for: '25s', params: { workers: 2 } },
    { kind: 'kill', node: 'edge-2', at: '48s', params: { restartAfter: '2s' } },
  ],
  downlink: { publishAt: ['20s', '50s'] },
  convergence: { timeout: '60s' },
  // schedulingBench and rescheduling: Kubernetes targets only (--target kube-local measures both)
  checks: { startup: { samples: 15 }, schedulingBench: { nodes: 20, pods: 200, rounds: 1 } },
});
