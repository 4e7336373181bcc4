/**
 * A read-heavy offline profile: few writes, many reads of recent records and of status — what
 * local consumers do while the cloud is gone. A k6-style script. Env: EDGES, RUN_ID, WRITE_RATE,
 * READ_RATE, DURATION, SEED.
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
const duration = __ENV['DURATION'] ?? '30s';
const written: string[][] = edges.map(() => []);
randomSeed(Number(__ENV['SEED'] ?? 1));

export const options: Options = {
  scenarios: {
    writes: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV['WRITE_RATE'] ?? 10),
      timeUnit: '1s',
      duration,
      preAllocatedVUs: 10,
      maxVUs: 256,
      gracefulStop: '5s',
      exec: 'write',
    },
    reads: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV['READ_RATE'] ?? 100),
      timeUnit: '1s',
      duration,
      preAllocatedVUs: 20,
      maxVUs: 300,
      gracefulStop: '5s',
      exec: 'read',
    },
  },
};

export async function write(): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const i = n % edges.length;
  const edge = edges[i];
  if (!edge) return;
  const id = `${run}-${edge.name}-h${n}`;
  const payload = { reading: Math.round(Math.random() * 1000) / 10 };
  const res = await http.post(`${edge.url}/v1/records`, JSON.stringify({ id, ts: Date.now(), payload }), {
    headers: { 'content-type': 'application/json' },
    timeout: '3s',
    write: { id, node: edge.name, payloadBytes: JSON.stringify(payload).length },
  });
  if (check(res, { 'write acknowledged': (r) => r.status >= 200 && r.status < 300 })) written[i]!.push(id);
}

export async function read(): Promise<void> {
  const n = exec.scenario.iterationInTest;
  const i = n % edges.length;
  const edge = edges[i];
  const ids = written[i];
  if (!edge || !ids) return;
  if (ids.length === 0 || n % 4 === 0) {
    const res = await http.get(`${edge.url}/v1/status`, {
      tags: { name: 'status', node: edge.name },
      timeout: '3s',
    });
    check(res, { 'status served': (r) => r.status === 200 });
    return;
  }
  const id = ids[Math.floor(Math.random() * ids.length)]!;
  const res = await http.get(`${edge.url}/v1/records/${encodeURIComponent(id)}`, {
    tags: { name: 'read', node: edge.name },
    timeout: '3s',
  });
  check(res, { 'record served locally': (r) => r.status === 200 });
}
