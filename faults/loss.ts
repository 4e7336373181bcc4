import { UsageError } from '../src/core/errors.ts';
import { seededRandom } from '../src/load/rng.ts';
import { faultTag, Params } from './params.ts';
import {
  checkPeerSelection,
  partitionPeers,
  type PartitionBetween,
  type PartitionDirection,
} from './partition.ts';
import type { FaultKind, FaultStep, PlanContext, ResolvedFault } from './types.ts';

export interface LossParams {
  between: PartitionBetween;
  /** From the node's point of view: `out` loses what it sends, `in` what it receives. */
  direction: PartitionDirection;
  peer: string | undefined;
  /** Long-run share of packets lost, in percent. */
  percent: number;
  /** Bursts: mean length of a bad period (Gilbert–Elliott style); undefined = independent losses. */
  burstMs: number | undefined;
  /** Bursts: share lost while in a bad period (percent); good periods lose nothing. */
  burstPercent: number;
}

/** Loss shares are drawn from `numgen random mod 10000`: a resolution of 0.01 %. */
export const lossScale = 10_000;

/** nft rules that drop `percent` of the matching packets (pure); empty at 0 %. */
export function lossRules(
  table: string,
  peers: readonly string[],
  direction: PartitionDirection,
  percent: number,
): string {
  const threshold = Math.round((percent * lossScale) / 100);
  if (threshold <= 0) return '';
  const set = `{ ${peers.join(', ')} }`;
  // numgen's values are 0..lossScale-1: at 100 % every packet goes, with no draw.
  const draw = threshold >= lossScale ? '' : ` numgen random mod ${lossScale} < ${threshold}`;
  const lines: string[] = [];
  if (direction !== 'out') lines.push(`add rule inet ${table} in ip saddr ${set}${draw} drop`);
  if (direction !== 'in') lines.push(`add rule inet ${table} out ip daddr ${set}${draw} drop`);
  return lines.map((l) => `${l}\n`).join('');
}

/** The fault's table with both chains and the given rules (pure); priority -10 like partition. */
export function lossTable(table: string, rules: string): string {
  return (
    [
      `create table inet ${table}`,
      `table inet ${table} {`,
      '  chain in { type filter hook input priority -10; policy accept; }',
      '  chain out { type filter hook output priority -10; policy accept; }',
      '}',
      '',
    ].join('\n') + rules
  );
}

/**
 * Seeded Gilbert–Elliott schedule over time (pure): alternating good and bad periods with
 * exponentially distributed lengths, bad periods of mean `burstMs`, good ones of mean
 * burstMs·(1−f)/f where f = percent / burstPercent is the share of time spent bad. Returns the bad
 * windows within `totalMs`. nftables keeps no per-flow Markov state, so the two states switch on
 * the fault's clock rather than per packet.
 */
export function burstSchedule(
  p: Pick<LossParams, 'percent' | 'burstMs' | 'burstPercent'>,
  totalMs: number,
  seed: number,
): { badAt: number; goodAt: number }[] {
  if (p.burstMs === undefined) return [];
  const f = p.percent / p.burstPercent;
  if (f >= 1) return [{ badAt: 0, goodAt: totalMs }];
  const rand = seededRandom(seed);
  const exp = (mean: number): number => Math.max(10, Math.round(-mean * Math.log(1 - rand())));
  const meanGood = (p.burstMs * (1 - f)) / f;
  const out: { badAt: number; goodAt: number }[] = [];
  let t = exp(meanGood);
  while (t < totalMs) {
    const goodAt = Math.min(totalMs, t + exp(p.burstMs));
    out.push({ badAt: t, goodAt });
    t = goodAt + exp(meanGood);
  }
  return out;
}

function peersOf(p: LossParams, fault: ResolvedFault, ctx: PlanContext): string[] {
  return partitionPeers(
    { between: p.between, direction: p.direction, peer: p.peer, action: 'drop' },
    fault,
    ctx,
  );
}

/** Random packet loss on the node's links: nftables `numgen random` drop rules inside the node. */
export const loss: FaultKind<LossParams> = {
  kind: 'loss',
  description:
    'lose a share of the packets on the node’s links (nftables numgen random in the node), optionally in bursts',
  needs: ['shell'],
  params: {
    percent: 'share of packets lost, 0–100 (long-run average with bursts)',
    between: 'edge-cloud (default), edge-edge, client-edge',
    direction: 'both (default), in, out — seen from the node',
    peer: 'edge-edge only: the one peer (default: all other edges)',
    burst:
      'mean length of a lossy period (e.g. 300ms): losses come in bursts (Gilbert–Elliott good/bad states); needs a duration',
    burstPercent: 'share lost inside a burst, percent (default 80; must be ≥ percent)',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p: LossParams = {
      percent: ps.number('percent', undefined, { min: 0, max: 100 }),
      between: ps.oneOf('between', ['edge-cloud', 'edge-edge', 'client-edge'] as const, 'edge-cloud'),
      direction: ps.oneOf('direction', ['both', 'in', 'out'] as const, 'both'),
      peer: ps.string('peer'),
      burstMs: ps.has('burst') ? ps.duration('burst', undefined, { min: 10 }) : undefined,
      burstPercent: ps.number('burstPercent', 80, { min: 0.01, max: 100 }),
    };
    ps.done();
    checkPeerSelection(ps, p, fault, ctx);
    if (p.burstMs === undefined && ps.has('burstPercent')) ps.fail('burstPercent', 'only applies with burst');
    if (p.burstMs !== undefined) {
      if (p.percent > p.burstPercent)
        ps.fail('burstPercent', `must be ≥ percent (${p.percent}), got ${p.burstPercent}`);
      if (fault.durationMs === undefined)
        throw new UsageError('fault loss with burst needs a duration (for)', {
          field: 'for',
          node: fault.node,
        });
    }
    return p;
  },
  plan(p, fault, ctx) {
    const table = faultTag(fault);
    const peers = peersOf(p, fault, ctx);
    const bursty = p.burstMs !== undefined;
    const steady = bursty ? '' : lossRules(table, peers, p.direction, p.percent);
    const steps: FaultStep[] = [
      {
        op: 'exec',
        node: fault.node,
        what: `loss ${p.percent}% ${fault.node} ${p.between} ${p.direction} (nft table ${table})`,
        argv: ['nft', '-f', '-'],
        input: lossTable(table, steady),
        undo: ['nft', 'delete', 'table', 'inet', table],
      },
    ];
    const schedule = burstSchedule(p, fault.durationMs ?? 0, fault.seed ?? 1);
    const nft = (input: string, what: string): FaultStep => ({
      op: 'exec',
      node: fault.node,
      what,
      argv: ['nft', '-f', '-'],
      input,
    });
    const bad = lossRules(table, peers, p.direction, p.burstPercent);
    const good = `flush chain inet ${table} in\nflush chain inet ${table} out\n`;
    for (const w of schedule) {
      steps.push({
        op: 'after',
        delayMs: w.badAt,
        what: `${fault.node} loss burst`,
        steps: [nft(good + bad, `${fault.node} loss burst (${p.burstPercent}%)`)],
      });
      steps.push({
        op: 'after',
        delayMs: w.goodAt,
        what: `${fault.node} loss burst ends`,
        steps: [nft(good, `${fault.node} loss burst ends`)],
      });
    }
    return {
      fault,
      summary: bursty
        ? `loss ${p.percent}% ${fault.node} ${p.between} ${p.direction} in bursts of ~${p.burstMs}ms at ${p.burstPercent}% (${schedule.length} bursts, seed ${fault.seed ?? 1})`
        : `loss ${p.percent}% ${fault.node} ${p.between} ${p.direction}`,
      steps,
      onRevert: [],
    };
  },
};
