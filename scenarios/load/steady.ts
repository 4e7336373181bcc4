import { defineLoad, type IterationContext } from '../../src/load/types.ts';

/**
 * Steady writes to every edge (round-robin), plus status reads — sensors on the edge's LAN.
 * Env (set by the campaign): EDGES = JSON [{name, url}], RUN_ID, WRITE_RATE (writes/s over all
 * edges), READ_RATE, DURATION, PAYLOAD_BYTES.
 */
interface Edge {
  name: string;
  url: string;
}

const edges = JSON.parse(process.env['EDGES'] ?? '[]') as Edge[];
const run = process.env['RUN_ID'] ?? 'run';
const payloadBytes = Number(process.env['PAYLOAD_BYTES'] ?? 200);
const duration = process.env['DURATION'] ?? '30s';

async function write(ctx: IterationContext): Promise<void> {
  const edge = edges[ctx.iteration % edges.length];
  if (!edge) return;
  const id = `${run}-${edge.name}-${ctx.iteration}`;
  const payload = { v: Math.round(ctx.random() * 1e6), pad: 'p'.repeat(Math.max(0, payloadBytes - 30)) };
  const body = { id, ts: Date.now(), payload };
  const res = await ctx.http.write(
    `${edge.url}/v1/records`,
    { id, node: edge.name, payloadBytes: JSON.stringify(payload).length },
    body,
    { timeoutMs: 3000 },
  );
  ctx.check('write acknowledged', res.status >= 200 && res.status < 300);
}

async function read(ctx: IterationContext): Promise<void> {
  const edge = edges[ctx.iteration % edges.length];
  if (!edge) return;
  const res = await ctx.http.get(`${edge.url}/v1/status`, {
    tags: { name: 'status', node: edge.name },
    timeoutMs: 3000,
  });
  ctx.check('status served', res.status === 200);
}

export default defineLoad({
  scenarios: {
    writes: {
      executor: 'constant-arrival-rate',
      rate: Number(process.env['WRITE_RATE'] ?? 30),
      duration,
      maxInFlight: 200,
      exec: 'write',
    },
    reads: {
      executor: 'constant-arrival-rate',
      rate: Number(process.env['READ_RATE'] ?? 10),
      duration,
      maxInFlight: 100,
      exec: 'read',
    },
  },
  exec: { write, read },
});
