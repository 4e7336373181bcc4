import { defineScenario } from '../src/campaign/scenario.ts';

/** A long partition of two edges under heavy writes: tests the offline outbox and the resumed sync. */
export default defineScenario({
  name: 'offline-sync',
  description:
    'two edges cut off from the cloud for 90 s under 200 writes/s; heal; every acknowledged write exactly once',
  seed: 7,
  nodes: [
    { name: 'edge-1', profile: 'rpi4' },
    { name: 'edge-2', profile: 'rpi4' },
    { name: 'edge-3', profile: 'x86-edge' },
  ],
  duration: '120s',
  load: { script: 'load/steady.ts', env: { WRITE_RATE: '200', READ_RATE: '20', PAYLOAD_BYTES: '300' } },
  faults: [
    {
      kind: 'partition',
      node: 'edge-1',
      at: '10s',
      for: '90s',
      params: { between: 'edge-cloud', direction: 'both' },
    },
    {
      kind: 'partition',
      node: 'edge-2',
      at: '15s',
      for: '90s',
      params: { between: 'edge-cloud', direction: 'both' },
    },
    { kind: 'kill', node: 'edge-1', at: '60s', params: { restartAfter: '1s' } },
  ],
  downlink: { publishAt: ['30s'] },
  convergence: { timeout: '90s' },
});
