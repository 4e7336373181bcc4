/**
 * Ramping arrival rate of writes over every edge: finds where acknowledged writes/s stop keeping up.
 * A k6-style script. Env: EDGES = JSON [{name, url}], RUN_ID, PEAK_RATE (writes/s over all edges),
 * DURATION.
 */
import exec from '../../src/load/k6/execution.ts';
import http from '../../src/load/k6/http.ts';
import { check } from '../../src/load/k6/index.ts';
import type { Options } from '../../src/load/types.ts';

interface Edge {
  name: string;
  url: string;
}
const edges = JSON.parse(__ENV['EDGES'] ?? '[]') as Edge[];
const run = __ENV['RUN_ID'] ?? 'run';
const peak = Number(__ENV['PEAK_RATE'] ?? 300);
const totalMs = Number(/^(\d+)ms$/.exec(__ENV['DURATION'] ?? '')?.[1] ?? 60_000);
const third = `${Math.floor(totalMs / 3)}ms`;

export const options: Options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: 10,
      timeUnit: '1s',
      stages: [
        { target: peak, duration: third },
        { target: peak, duration: third },
        { target: 10, duration: third },
      ],
      preAllocatedVUs: 50,
      maxVUs: 500,
      gracefulStop: '5s',
      exec: 'write',
    },
  },
};

export async function write(): Promise<void> {
  const i = exec.scenario.iterationInTest;
  const edge = edges[i % edges.length];
  if (!edge) return;
  const id = `${run}-${edge.name}-r${i}`;
  const payload = { v: i, pad: 'r'.repeat(100) };
  const res = await http.post(`${edge.url}/v1/records`, JSON.stringify({ id, ts: Date.now(), payload }), {
    headers: { 'content-type': 'application/json' },
    timeout: '3s',
    write: { id, node: edge.name, payloadBytes: JSON.stringify(payload).length },
  });
  check(res, { 'write acknowledged': (r) => r.status >= 200 && r.status < 300 });
}
