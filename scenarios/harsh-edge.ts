import { defineScenario } from '../src/campaign/scenario.ts';

/**
 * What edge boards really meet: edge-1's uplink loses 10 % of its packets in bursts (Gilbert–Elliott
 * good/bad periods), edge-2's data disk fills up for 15 s and then its monotonic and boot clocks
 * jump 5 minutes ahead (its stack restarted in a time namespace; the wall clock is not shifted, see
 * the fault catalogue), edge-3 loses power mid-load (every process killed, every write not yet
 * fsynced dropped, boot 2 s later). The resumed-sync check must still find 0 lost and 0 duplicated
 * acknowledged writes.
 */
export default defineScenario({
  name: 'harsh-edge',
  description:
    'bursty packet loss on an uplink, a full data disk, a monotonic clock skew, a power cut mid-load; heal and converge',
  seed: 20261206,
  nodes: [
    { name: 'edge-1', profile: 'rpi4' },
    { name: 'edge-2', profile: 'rpi4' },
    { name: 'edge-3', profile: 'jetson-nano' },
  ],
  warmup: '3s',
  duration: '45s',
  load: { script: 'load/steady.ts', env: { WRITE_RATE: '60', READ_RATE: '15', PAYLOAD_BYTES: '200' } },
  faults: [
    {
      kind: 'loss',
      node: 'edge-1',
      at: '5s',
      for: '35s',
      params: { percent: 10, burst: '300ms', burstPercent: 60, between: 'edge-cloud' },
    },
    { kind: 'disk-full', node: 'edge-2', at: '10s', for: '15s' },
    { kind: 'clock-skew', node: 'edge-2', at: '28s', for: '12s', params: { offset: '+300s' } },
    { kind: 'power-loss', node: 'edge-3', at: '20s', params: { downFor: '2s' } },
  ],
  convergence: { timeout: '60s' },
  checks: { startup: { samples: 3 } },
});
