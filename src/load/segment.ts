import { UsageError } from '../core/errors.ts';
import type { PlannedScenario } from './schedule.ts';

/**
 * Execution segments, pure (unit-tested): the basis of `--load-replicas N`, as k6's
 * `executionSegment`: each of N runners takes its slice [from, to) of every executor, so that the N
 * runners together run exactly the test one runner would have run — the same VUs, iterations and
 * arrivals, none twice and none missing.
 *
 * - Counts (VUs, stage targets, shared iterations) are split by floor differences:
 *   ⌊total·to⌋ − ⌊total·from⌋, which sum to the total over any partition of [0, 1).
 * - Arrivals of the arrival-rate executors keep their times (the rate's shape stays k6's): arrival
 *   k belongs to the segment that holds the point (k mod D)/D, D the common denominator of the
 *   segment sequence — every D consecutive arrivals are split exactly, so each runner's rate is the
 *   scenario's rate × (to − from) at every point of a ramp, within D arrivals.
 */
export interface Fraction {
  n: number;
  d: number;
}

export interface Segment {
  from: Fraction;
  to: Fraction;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function fraction(text: string, field: string): Fraction {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text.trim());
  const n = Number(m?.[1]);
  const d = m?.[2] === undefined ? 1 : Number(m[2]);
  if (!m || d === 0 || n > d || !Number.isSafeInteger(n) || !Number.isSafeInteger(d))
    throw new UsageError(`"${text}" is not a fraction in [0, 1] such as 1/3`, { field });
  const g = gcd(n, d) || 1;
  return { n: n / g, d: d / g };
}

/** k6's segment syntax `from:to` ("0:1/3", "1/3:2/3", "2/3:1"). */
export function parseSegment(text: string, field = 'executionSegment'): Segment {
  const [a, b, ...rest] = text.split(':');
  if (a === undefined || b === undefined || rest.length)
    throw new UsageError(`"${text}" is not a segment such as 1/3:2/3`, { field });
  const from = fraction(a, field);
  const to = fraction(b, field);
  if (from.n * to.d >= to.n * from.d) throw new UsageError(`segment "${text}" is empty`, { field });
  return { from, to };
}

/** N equal segments: i/N:(i+1)/N, for N runners. */
export function segmentsOf(replicas: number): Segment[] {
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new RangeError('replicas must be a positive integer');
  return Array.from({ length: replicas }, (_, i) => ({
    from: { n: i, d: replicas },
    to: { n: i + 1, d: replicas },
  }));
}

/** ⌊total·f⌋ in integers (exact: no floating-point rounding at the boundaries). */
const floorOf = (total: number, f: Fraction): number => Math.floor((total * f.n) / f.d);

/** This segment's share of an integer count: the shares of a partition of [0, 1) sum to `total`. */
export function scaleCount(total: number, seg: Segment): number {
  return floorOf(total, seg.to) - floorOf(total, seg.from);
}

const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/**
 * The common denominator of a segment sequence (k6's executionSegmentSequence): every runner of one
 * test must split arrivals with the same one, or two segments with different denominators could
 * claim the same arrival. For N equal segments it is N.
 */
export function sequenceDenominator(segs: readonly Segment[]): number {
  return segs.reduce((a, s) => lcm(lcm(a, s.from.d), s.to.d), 1);
}

/** Whether arrival k (0-based, in time order) of an arrival-rate executor is this segment's. */
export function ownsArrival(k: number, seg: Segment, d = sequenceDenominator([seg])): boolean {
  const pos = k % d;
  return pos * seg.from.d >= seg.from.n * d && pos * seg.to.d < seg.to.n * d;
}

/** The arrivals of `times` that are this segment's (times unchanged); `d` as in ownsArrival. */
export function* segmentArrivals(times: Iterable<number>, seg: Segment, d?: number): Generator<number> {
  let k = 0;
  for (const t of times) if (ownsArrival(k++, seg, d)) yield t;
}

/**
 * This segment's slice of a planned scenario: VUs, stage targets and shared iterations scaled
 * (per-vu-iterations keep their per-VU count; arrival-rate executors keep their rates — filter their
 * arrivals with `segmentArrivals` — and get their share of VUs, at least one).
 */
export function segmentScenario(s: PlannedScenario, seg: Segment): PlannedScenario {
  const vus = (n: number): number => scaleCount(n, seg);
  const out: PlannedScenario = { ...s, stages: s.stages.map((st) => ({ ...st })) };
  switch (s.executor) {
    case 'shared-iterations':
      out.iterations = vus(s.iterations);
      out.vus = Math.min(vus(s.vus), out.iterations);
      break;
    case 'per-vu-iterations':
    case 'constant-vus':
      out.vus = vus(s.vus);
      break;
    case 'ramping-vus':
      out.vus = vus(s.vus);
      out.stages = s.stages.map((st) => ({ durationMs: st.durationMs, target: vus(st.target) }));
      break;
    default:
      // A cap, not a count to split exactly: a segment that owns arrivals needs a VU to run them.
      out.preAllocatedVUs = Math.max(1, vus(s.preAllocatedVUs));
      out.maxVUs = Math.max(out.preAllocatedVUs, vus(s.maxVUs));
  }
  return out;
}
