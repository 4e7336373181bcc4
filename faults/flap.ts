import { UsageError } from '../src/core/errors.ts';
import { seededRandom } from '../src/load/rng.ts';
import { faultTag, Params } from './params.ts';
import { lossTable } from './loss.ts';
import { partitionPeers, type PartitionParams } from './partition.ts';
import type { FaultKind, FaultStep } from './types.ts';

export interface FlapParams {
  between: PartitionParams['between'];
  minDownMs: number;
  maxDownMs: number;
  minUpMs: number;
  maxUpMs: number;
}

/** Seeded schedule of down windows within `totalMs` (pure): [{start, end}], link up in between and at the end. */
export function flapSchedule(
  p: FlapParams,
  totalMs: number,
  seed: number,
): { downAt: number; upAt: number }[] {
  const rand = seededRandom(seed);
  const pick = (lo: number, hi: number): number => Math.round(lo + rand() * (hi - lo));
  const out: { downAt: number; upAt: number }[] = [];
  let t = pick(p.minUpMs, p.maxUpMs);
  while (t < totalMs) {
    const upAt = Math.min(totalMs, t + pick(p.minDownMs, p.maxDownMs));
    out.push({ downAt: t, upAt });
    t = upAt + pick(p.minUpMs, p.maxUpMs);
  }
  return out;
}

/**
 * A flapping link: an nft table in the node whose chains get drop rules while "down" and are flushed
 * while "up", on a seeded random schedule. The table is journaled, so a crash leaves it removable.
 */
export const flap: FaultKind<FlapParams> = {
  kind: 'flap',
  needs: ['shell'],
  description: 'take the link down and up on a seeded random schedule (nftables in the node)',
  params: {
    between: 'edge-cloud (default), edge-edge, client-edge',
    minDown: 'shortest down window (default 500ms)',
    maxDown: 'longest down window (default 3s)',
    minUp: 'shortest up window (default 500ms)',
    maxUp: 'longest up window (default 3s)',
  },
  parse(raw, fault) {
    const ps: Params = new Params(raw, fault);
    const p: FlapParams = {
      between: ps.oneOf('between', ['edge-cloud', 'edge-edge', 'client-edge'] as const, 'edge-cloud'),
      minDownMs: ps.duration('minDown', 500, { min: 10 }),
      maxDownMs: ps.duration('maxDown', 3000, { min: 10 }),
      minUpMs: ps.duration('minUp', 500, { min: 10 }),
      maxUpMs: ps.duration('maxUp', 3000, { min: 10 }),
    };
    ps.done();
    if (p.maxDownMs < p.minDownMs) ps.fail('maxDown', 'must be ≥ minDown');
    if (p.maxUpMs < p.minUpMs) ps.fail('maxUp', 'must be ≥ minUp');
    if (fault.durationMs === undefined)
      throw new UsageError('fault flap needs a duration (for)', { field: 'for', node: fault.node });
    return p;
  },
  plan(p, fault, ctx) {
    const table = faultTag(fault);
    const peers = partitionPeers(
      { between: p.between, direction: 'both', peer: undefined, action: 'drop' },
      fault,
      ctx,
    );
    const set = `{ ${peers.join(', ')} }`;
    const down = `add rule inet ${table} in ip saddr ${set} drop\nadd rule inet ${table} out ip daddr ${set} drop\n`;
    const up = `flush chain inet ${table} in\nflush chain inet ${table} out\n`;
    const schedule = flapSchedule(p, fault.durationMs ?? 0, fault.seed ?? 1);
    const steps: FaultStep[] = [
      {
        op: 'exec',
        node: fault.node,
        what: `flap table ${table} on ${fault.node}`,
        argv: ['nft', '-f', '-'],
        input: lossTable(table, ''),
        undo: ['nft', 'delete', 'table', 'inet', table],
      },
    ];
    const nft = (input: string, what: string): FaultStep => ({
      op: 'exec',
      node: fault.node,
      what,
      argv: ['nft', '-f', '-'],
      input,
    });
    for (const w of schedule) {
      steps.push({
        op: 'after',
        delayMs: w.downAt,
        what: `${fault.node} link down`,
        steps: [nft(down, `${fault.node} link down`)],
      });
      steps.push({
        op: 'after',
        delayMs: w.upAt,
        what: `${fault.node} link up`,
        steps: [nft(up, `${fault.node} link up`)],
      });
    }
    return {
      fault,
      summary: `flap ${fault.node} ${p.between}: ${schedule.length} down windows (seed ${fault.seed ?? 1})`,
      steps,
      onRevert: [],
    };
  },
};
