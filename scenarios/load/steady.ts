/**
 * Steady writes to every edge (round-robin), plus status reads — sensors on the edge's LAN.
 * A k6-style script (see src/load/README.md). Env (set by the campaign): EDGES = JSON [{name, url}],
 * RUN_ID, WRITE_RATE (writes/s over all edges), READ_RATE, DURATION, PAYLOAD_BYTES, SEED.
 */
import exec from '../../src/load/k6/execution.ts';
import http from '../../src/load/k6/http.ts';
import { check, randomSeed } from '../../src/load/k6/index.ts';
import type { Options } from '../../src/load/types.ts';

interface Edge {
  name: string;
  url: string;
}

const edges = JSON.parse(__ENV['EDGES'] ?? '[]') as Edge[];
const run = __ENV['RUN_ID'] ?? 'run';
const payloadBytes = Number(__ENV['PAYLOAD_BYTES'] ?? 200);
const duration = __ENV['DURATION'] ?? '30s';
randomSeed(Number(__ENV['SEED'] ?? 1));

export const options: Options = {
  scenarios: {
    writes: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV['WRITE_RATE'] ?? 30),
      timeUnit: '1s',
      duration,
      preAllocatedVUs: 20,
      maxVUs: 200,
      gracefulStop: '5s',
      exec: 'write',
    },
    reads: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV['READ_RATE'] ?? 10),
      timeUnit: '1s',
      duration,
      preAllocatedVUs: 5,
      maxVUs: 100,
      gracefulStop: '5s',
      exec: 'read',
    },
  },
};

export async function write(): Promise<void> {
  const i = exec.scenario.iterationInTest;
  const edge = edges[i % edges.length];
  if (!edge) return;
  const id = `${run}-${edge.name}-${i}`;
  const payload = { v: Math.round(Math.random() * 1e6), pad: 'p'.repeat(Math.max(0, payloadBytes - 30)) };
  const res = await http.post(`${edge.url}/v1/records`, JSON.stringify({ id, ts: Date.now(), payload }), {
    headers: { 'content-type': 'application/json' },
    tags: { name: 'write', node: edge.name },
    timeout: '3s',
    write: { id, node: edge.name, payloadBytes: JSON.stringify(payload).length },
  });
  check(res, { 'write acknowledged': (r) => r.status >= 200 && r.status < 300 });
}

export async function read(): Promise<void> {
  const edge = edges[exec.scenario.iterationInTest % edges.length];
  if (!edge) return;
  const res = await http.get(`${edge.url}/v1/status`, {
    tags: { name: 'status', node: edge.name },
    timeout: '3s',
  });
  check(res, { 'status served': (r) => r.status === 200 });
}
