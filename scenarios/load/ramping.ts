import { defineLoad, type IterationContext } from '../../src/load/types.ts';

/**
 * Ramping arrival rate of writes over every edge: finds where acknowledged writes/s stop keeping up.
 * Env: EDGES = JSON [{name, url}], RUN_ID, PEAK_RATE (writes/s over all edges), DURATION.
 */
interface Edge {
  name: string;
  url: string;
}
const edges = JSON.parse(process.env['EDGES'] ?? '[]') as Edge[];
const run = process.env['RUN_ID'] ?? 'run';
const peak = Number(process.env['PEAK_RATE'] ?? 300);
const totalMs = Number(/^(\d+)ms$/.exec(process.env['DURATION'] ?? '')?.[1] ?? 60_000);
const third = `${Math.floor(totalMs / 3)}ms`;

async function write(ctx: IterationContext): Promise<void> {
  const edge = edges[ctx.iteration % edges.length];
  if (!edge) return;
  const id = `${run}-${edge.name}-r${ctx.iteration}`;
  const payload = { v: ctx.iteration, pad: 'r'.repeat(100) };
  const res = await ctx.http.write(
    `${edge.url}/v1/records`,
    { id, node: edge.name, payloadBytes: JSON.stringify(payload).length },
    { id, ts: Date.now(), payload },
    { timeoutMs: 3000 },
  );
  ctx.check('write acknowledged', res.status >= 200 && res.status < 300);
}

export default defineLoad({
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: 10,
      stages: [
        { target: peak, duration: third },
        { target: peak, duration: third },
        { target: 10, duration: third },
      ],
      maxInFlight: 500,
      exec: 'write',
    },
  },
  exec: { write },
});
