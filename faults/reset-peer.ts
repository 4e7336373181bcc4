import { Params } from './params.ts';
import { toxicCommon, toxicPlan, type Stream } from './toxic.ts';
import type { FaultKind } from './types.ts';

export interface ResetPeerParams {
  timeoutMs: number;
  stream: Stream;
  toxicity: number;
}

/** Connections on the uplink are reset (TCP RST) after `timeout` (toxiproxy reset_peer). */
export const resetPeer: FaultKind<ResetPeerParams> = {
  kind: 'reset-peer',
  description: "reset the edge's uplink connections (toxiproxy reset_peer)",
  params: {
    timeout: 'reset after this long on each connection (default 0: at once)',
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
      'reset_peer',
      p,
      { timeout: Math.round(p.timeoutMs) },
      `reset-peer after ${p.timeoutMs}ms on ${fault.node}'s uplink`,
    );
  },
};
