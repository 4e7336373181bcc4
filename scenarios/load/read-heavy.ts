import { defineLoad, type IterationContext } from '../../src/load/types.ts';

/**
 * A read-heavy offline profile: few writes, many reads of recent records and of status — what
 * local consumers do while the cloud is gone. Env: EDGES, RUN_ID, WRITE_RATE, READ_RATE, DURATION.
 */
interface Edge {
  name: string;
  url: string;
}
const edges = JSON.parse(process.env['EDGES'] ?? '[]') as Edge[];
const run = process.env['RUN_ID'] ?? 'run';
const duration = process.env['DURATION'] ?? '30s';
const written: string[][] = edges.map(() => []);

async function write(ctx: IterationContext): Promise<void> {
  const i = ctx.iteration % edges.length;
  const edge = edges[i];
  if (!edge) return;
  const id = `${run}-${edge.name}-h${ctx.iteration}`;
  const payload = { reading: Math.round(ctx.random() * 1000) / 10 };
  const res = await ctx.http.write(
    `${edge.url}/v1/records`,
    { id, node: edge.name, payloadBytes: JSON.stringify(payload).length },
    { id, ts: Date.now(), payload },
    { timeoutMs: 3000 },
  );
  if (ctx.check('write acknowledged', res.status >= 200 && res.status < 300)) written[i]!.push(id);
}

async function read(ctx: IterationContext): Promise<void> {
  const i = ctx.iteration % edges.length;
  const edge = edges[i];
  const ids = written[i];
  if (!edge || !ids) return;
  if (ids.length === 0 || ctx.iteration % 4 === 0) {
    const res = await ctx.http.get(`${edge.url}/v1/status`, {
      tags: { name: 'status', node: edge.name },
      timeoutMs: 3000,
    });
    ctx.check('status served', res.status === 200);
    return;
  }
  const id = ids[Math.floor(ctx.random() * ids.length)]!;
  const res = await ctx.http.get(`${edge.url}/v1/records/${encodeURIComponent(id)}`, {
    tags: { name: 'read', node: edge.name },
    timeoutMs: 3000,
  });
  ctx.check('record served locally', res.status === 200);
}

export default defineLoad({
  scenarios: {
    writes: {
      executor: 'constant-arrival-rate',
      rate: Number(process.env['WRITE_RATE'] ?? 10),
      duration,
      exec: 'write',
    },
    reads: {
      executor: 'constant-arrival-rate',
      rate: Number(process.env['READ_RATE'] ?? 100),
      duration,
      maxInFlight: 300,
      exec: 'read',
    },
  },
  exec: { write, read },
});
