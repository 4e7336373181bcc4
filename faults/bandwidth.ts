import { Params, requireEdge } from './params.ts';
import { toxicCommon, toxicPlan, type Stream } from './toxic.ts';
import type { FaultKind } from './types.ts';

export interface BandwidthParams {
  /** bits per second */
  rateBps: number;
  via: 'toxiproxy' | 'tbf';
  stream: Stream;
  toxicity: number;
  /** tbf: bucket size in bytes and queue latency */
  burstBytes: number;
  queueMs: number;
}

/** tc argv of a tbf qdisc on `dev` (pure). */
export function tbfArgv(
  dev: string,
  p: Pick<BandwidthParams, 'rateBps' | 'burstBytes' | 'queueMs'>,
): string[] {
  return [
    'tc',
    'qdisc',
    'add',
    'dev',
    dev,
    'root',
    'tbf',
    'rate',
    `${Math.max(1, Math.round(p.rateBps))}bit`,
    'burst',
    String(p.burstBytes),
    'latency',
    `${p.queueMs}ms`,
  ];
}

/**
 * Cap the edge's uplink: a toxiproxy bandwidth toxic (KB/s, on the edge → cloud path only), or a tbf
 * qdisc on the node's interface (`via=tbf`: all of the node's egress, clients' responses included).
 */
export const bandwidth: FaultKind<BandwidthParams> = {
  kind: 'bandwidth',
  needs: ['uplink', 'shell'],
  description: "cap the edge's uplink bandwidth (toxiproxy bandwidth toxic, or tbf)",
  params: {
    rate: 'e.g. 64kbps, 1mbit, 100KB/s (required, > 0)',
    via: 'toxiproxy (default; edge→cloud only) or tbf (all egress of the node)',
    stream: 'toxiproxy: downstream (default), upstream, both',
    toxicity: 'toxiproxy: share of connections affected (default 1)',
    burst: 'tbf: bucket bytes (default max(rate/8 × 10ms, 1600))',
    queue: 'tbf: max queueing delay before drops (default 400ms)',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const rateBps = ps.rate('rate');
    const via = ps.oneOf('via', ['toxiproxy', 'tbf'] as const, 'toxiproxy');
    const common = toxicCommon(ps, 'downstream');
    const burstBytes = ps.number('burst', Math.max(1600, Math.ceil((rateBps / 8) * 0.01)), {
      min: 64,
      int: true,
    });
    const queueMs = ps.duration('queue', 400, { min: 1 });
    ps.done();
    requireEdge(fault, ctx);
    if (via === 'toxiproxy' && rateBps < 8000)
      ps.fail('rate', `${rateBps} bit/s is below toxiproxy's 1 KB/s minimum (use via=tbf for lower rates)`);
    return { rateBps, via, ...common, burstBytes, queueMs };
  },
  plan(p, fault, ctx) {
    if (p.via === 'tbf') {
      const dev = ctx.uplinkDevice(fault.node);
      return {
        fault,
        summary: `bandwidth ${p.rateBps} bit/s on ${fault.node} (tbf on ${dev})`,
        steps: [
          {
            op: 'exec',
            node: fault.node,
            what: `tbf ${p.rateBps} bit/s on ${fault.node} ${dev}`,
            argv: tbfArgv(dev, p),
            undo: ['tc', 'qdisc', 'del', 'dev', dev, 'root'],
          },
        ],
        onRevert: [],
      };
    }
    const kbs = Math.max(1, Math.floor(p.rateBps / 8000));
    return toxicPlan(
      fault,
      ctx,
      'bandwidth',
      p,
      { rate: kbs },
      `bandwidth ${kbs} KB/s on ${fault.node}'s uplink (${p.stream})`,
    );
  },
};
