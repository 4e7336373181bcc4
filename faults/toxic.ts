import { UsageError } from '../src/core/errors.ts';
import type { UplinkProxy } from './capabilities.ts';
import { faultTag, Params, requireEdge } from './params.ts';
import type { FaultKind, FaultPlan, FaultStep, PlanContext, ResolvedFault, ToxicSpec } from './types.ts';

export type Stream = 'upstream' | 'downstream' | 'both';

/** The edge's uplink proxy, or a clear error when the target has none. */
export function uplinkOf(fault: ResolvedFault, ctx: PlanContext): UplinkProxy {
  requireEdge(fault, ctx);
  const u = ctx.uplinkProxy(fault.node);
  if (!u)
    throw new UsageError(`fault ${fault.kind}: ${fault.node} has no uplink proxy on this target`, {
      node: fault.node,
    });
  return u;
}

/** Common params of every toxic: which direction of the uplink, and the share of connections hit. */
export function toxicCommon(ps: Params, dfltStream: Stream): { stream: Stream; toxicity: number } {
  return {
    stream: ps.oneOf('stream', ['upstream', 'downstream', 'both'] as const, dfltStream),
    toxicity: ps.number('toxicity', 1, { min: 0, max: 1 }),
  };
}

/** A plan of one toxic per stream on the node's uplink proxy (pure). */
export function toxicPlan(
  fault: ResolvedFault,
  ctx: PlanContext,
  type: ToxicSpec['type'],
  common: { stream: Stream; toxicity: number },
  attributes: Record<string, number>,
  summary: string,
): FaultPlan {
  const uplink = uplinkOf(fault, ctx);
  const streams: ToxicSpec['stream'][] =
    common.stream === 'both' ? ['upstream', 'downstream'] : [common.stream];
  const steps: FaultStep[] = streams.map((stream) => ({
    op: 'toxic',
    node: fault.node,
    what: `${type} toxic ${stream} on ${fault.node}'s uplink`,
    uplink,
    toxic: {
      name: `${faultTag(fault)}_${type}_${stream}`,
      type,
      stream,
      toxicity: common.toxicity,
      attributes,
    },
  }));
  return { fault, summary, steps, onRevert: [] };
}

/** Params of a toxic whose only own knob is a timeout (reset-peer, timeout). */
export interface TimeoutToxicParams {
  timeoutMs: number;
  stream: Stream;
  toxicity: number;
}

/** A fault kind backed by one toxiproxy toxic with a `timeout` attribute; the kinds differ in type and words only. */
export function timeoutToxicKind(spec: {
  kind: string;
  type: 'reset_peer' | 'timeout';
  description: string;
  timeoutHelp: string;
  summary: (p: TimeoutToxicParams, node: string) => string;
}): FaultKind<TimeoutToxicParams> {
  return {
    kind: spec.kind,
    needs: ['uplink'],
    description: spec.description,
    params: {
      timeout: spec.timeoutHelp,
      stream: 'upstream (default), downstream, both',
      toxicity: 'share of connections affected (default 1)',
    },
    parse(raw, fault) {
      const ps: Params = new Params(raw, fault);
      const p = { timeoutMs: ps.duration('timeout', 0), ...toxicCommon(ps, 'upstream') };
      ps.done();
      return p;
    },
    plan(p, fault, ctx) {
      return toxicPlan(
        fault,
        ctx,
        spec.type,
        p,
        { timeout: Math.round(p.timeoutMs) },
        spec.summary(p, fault.node),
      );
    },
  };
}
