import { ioRulePlan, parseOps, parseProb, requireDataLayer, type IoOp } from './io-error.ts';
import { Params } from './params.ts';
import type { FaultKind } from './types.ts';

export interface IoLatencyParams {
  ops: IoOp[];
  prob: number;
  delayMs: number;
}

/** Slow reads/writes/fsyncs under the node's data dir (a worn SD card), through its ec-fusefs layer. */
export const ioLatency: FaultKind<IoLatencyParams> = {
  kind: 'io-latency',
  description: "delay reads, writes or fsyncs under the edge's data dir by probability (FUSE layer)",
  needs: ['shell', 'data'],
  params: {
    op: 'read, write, fsync or all, comma separated (default all)',
    prob: 'probability each operation is delayed: 0–1 or a percentage (default 1)',
    delay: 'added delay per affected operation (default 100ms, at most 1m)',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p: IoLatencyParams = {
      ops: parseOps(ps, 'all'),
      prob: parseProb(ps),
      delayMs: ps.duration('delay', 100, { min: 1, max: 60_000 }),
    };
    ps.done();
    requireDataLayer(fault, ctx);
    return p;
  },
  plan(p, fault, ctx) {
    return ioRulePlan(fault, ctx, p.ops, [`prob=${p.prob}`, `delay=${p.delayMs}ms`], {
      summary: `io-latency +${p.delayMs}ms on ${p.ops.join('/')} p=${p.prob} under ${fault.node}'s data dir`,
      what: `io-latency ${p.ops.join(',')} +${p.delayMs}ms p=${p.prob} on ${fault.node}`,
    });
  },
};
