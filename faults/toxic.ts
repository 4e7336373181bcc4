import { UsageError } from '../src/core/errors.ts';
import type { UplinkProxy } from '../src/targets/types.ts';
import { faultTag, Params, requireEdge } from './params.ts';
import type { FaultPlan, FaultStep, PlanContext, ResolvedFault, ToxicSpec } from './types.ts';

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
