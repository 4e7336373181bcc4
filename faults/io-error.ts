import { UsageError } from '../src/core/errors.ts';
import type { DataLayer } from './capabilities.ts';
import { Params, requireEdge } from './params.ts';
import type { FaultKind, FaultPlan, PlanContext, ResolvedFault } from './types.ts';

export const ioOps = ['read', 'write', 'fsync'] as const;
export type IoOp = (typeof ioOps)[number];

/** The node's data-dir fault layer; a clear error naming the node when the target has none. */
export function requireDataLayer(fault: ResolvedFault, ctx: PlanContext): DataLayer {
  requireEdge(fault, ctx);
  const layer = ctx.dataLayer?.(fault.node);
  if (!layer)
    throw new UsageError(
      `fault ${fault.kind} needs a data-dir fault layer (ec-fusefs) on ${fault.node}, and this target has none there (the local target sets one up on every edge, the ssh target on every edge board whose preflight found /dev/fuse and tmpfs, unless EDGECHAOS_DATA_LAYER=off)`,
      { node: fault.node, field: 'kind' },
    );
  return layer;
}

/** `op` param: a comma list of read, write, fsync, or all (default given). */
export function parseOps(ps: Params, dflt: string): IoOp[] {
  const raw = ps.string('op') ?? dflt;
  const out = new Set<IoOp>();
  for (const o of raw.split(',').map((s) => s.trim())) {
    if (o === 'all') ioOps.forEach((x) => out.add(x));
    else if ((ioOps as readonly string[]).includes(o)) out.add(o as IoOp);
    else ps.fail('op', `must be read, write, fsync or all (comma separated), got "${o}"`);
  }
  return ioOps.filter((o) => out.has(o));
}

/** `prob` param: a probability 0–1, or a percentage "30%". */
export function parseProb(ps: Params): number {
  const v = ps.value('prob');
  if (typeof v === 'string' && v.trim().endsWith('%')) {
    const n = Number(v.trim().slice(0, -1));
    if (!Number.isFinite(n) || n < 0 || n > 100) ps.fail('prob', `must be 0–100%, got "${v}"`);
    return n / 100;
  }
  return ps.number('prob', 1, { min: 0, max: 1 });
}

/** The layer's control argv for a rule (pure). */
export function ioRuleArgv(
  layer: DataLayer,
  kind: 'io-error' | 'io-latency',
  ops: readonly IoOp[],
  extra: readonly string[],
): { set: string[]; clear: string[] } {
  const op = `op=${ops.join(',')}`;
  return {
    set: [...layer.ctl, 'set', kind, op, ...extra],
    // -if-running: a layer that is gone took its rules with it.
    clear: [...layer.ctl.slice(0, -1), '-if-running', layer.ctl.at(-1)!, 'clear', kind, op],
  };
}

/** The plan of an io rule fault (io-error, io-latency): one journaled set/clear of the rule on the node's layer. */
export function ioRulePlan(
  fault: ResolvedFault,
  ctx: PlanContext,
  ops: readonly IoOp[],
  extra: readonly string[],
  text: { summary: string; what: string },
): FaultPlan {
  const layer = requireDataLayer(fault, ctx);
  const a = ioRuleArgv(layer, fault.kind as 'io-error' | 'io-latency', ops, extra);
  return {
    fault,
    summary: text.summary,
    steps: [{ op: 'exec', node: fault.node, what: text.what, argv: a.set, undo: a.clear }],
    onRevert: [],
  };
}

export interface IoErrorParams {
  ops: IoOp[];
  prob: number;
  errno: 'EIO' | 'ENOSPC' | 'EROFS' | 'EDQUOT' | 'EAGAIN';
}

/** Failing reads/writes/fsyncs under the node's data dir, through its ec-fusefs layer. */
export const ioError: FaultKind<IoErrorParams> = {
  kind: 'io-error',
  description: "fail reads, writes or fsyncs under the edge's data dir by probability (FUSE layer)",
  needs: ['shell', 'data'],
  params: {
    op: 'read, write, fsync or all, comma separated (default write,fsync)',
    prob: 'probability each operation fails: 0–1 or a percentage (default 1)',
    errno: 'EIO (default), ENOSPC, EROFS, EDQUOT, EAGAIN',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p: IoErrorParams = {
      ops: parseOps(ps, 'write,fsync'),
      prob: parseProb(ps),
      errno: ps.oneOf('errno', ['EIO', 'ENOSPC', 'EROFS', 'EDQUOT', 'EAGAIN'] as const, 'EIO'),
    };
    ps.done();
    requireDataLayer(fault, ctx);
    return p;
  },
  plan(p, fault, ctx) {
    return ioRulePlan(fault, ctx, p.ops, [`prob=${p.prob}`, `errno=${p.errno}`], {
      summary: `io-error ${p.errno} on ${p.ops.join('/')} p=${p.prob} under ${fault.node}'s data dir`,
      what: `io-error ${p.ops.join(',')} p=${p.prob} ${p.errno} on ${fault.node}`,
    });
  },
};
