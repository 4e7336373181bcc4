import { Params } from './params.ts';
import { toxicCommon, toxicPlan, type Stream } from './toxic.ts';
import type { FaultKind } from './types.ts';

export interface TimeoutParams {
  timeoutMs: number;
  stream: Stream;
  toxicity: number;
}

/** Uplink data stops flowing; the connection is closed after `timeout` (0: never) (toxiproxy timeout). */
export const timeout: FaultKind<TimeoutParams> = {
  kind: 'timeout',
  description: "black-hole the edge's uplink connections, closing them after a timeout (toxiproxy timeout)",
  params: {
    timeout: 'close each connection after this long (default 0: hold it open, data dropped)',
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
      'timeout',
      p,
      { timeout: Math.round(p.timeoutMs) },
      `timeout ${p.timeoutMs}ms on ${fault.node}'s uplink`,
    );
  },
};
