import { Params } from './params.ts';
import { toxicCommon, toxicPlan, type Stream } from './toxic.ts';
import type { FaultKind } from './types.ts';

export interface LatencyParams {
  latencyMs: number;
  jitterMs: number;
  stream: Stream;
  toxicity: number;
}

/** Added delay (+ jitter) on the edge's uplink, by a toxiproxy latency toxic. */
export const latency: FaultKind<LatencyParams> = {
  kind: 'latency',
  needs: ['uplink'],
  description: "delay the edge's uplink traffic (toxiproxy latency toxic)",
  params: {
    latency: 'added delay, e.g. 150ms (required)',
    jitter: '± random variation, e.g. 50ms (default 0)',
    stream: 'downstream (default: responses from the cloud), upstream, both (each adds the delay)',
    toxicity: 'share of connections affected, 0..1 (default 1)',
  },
  parse(raw, fault) {
    const ps: Params = new Params(raw, fault);
    const latencyMs = ps.duration('latency', undefined, { max: 600_000 });
    const jitterMs = ps.duration('jitter', 0, { max: 600_000 });
    const p = { latencyMs, jitterMs, ...toxicCommon(ps, 'downstream') };
    ps.done();
    if (latencyMs === 0 && jitterMs === 0)
      ps.fail('latency', 'latency and jitter are both 0: nothing to inject');
    return p;
  },
  plan(p, fault, ctx) {
    return toxicPlan(
      fault,
      ctx,
      'latency',
      p,
      { latency: Math.round(p.latencyMs), jitter: Math.round(p.jitterMs) },
      `latency +${p.latencyMs}ms ±${p.jitterMs}ms on ${fault.node}'s uplink (${p.stream})`,
    );
  },
};
