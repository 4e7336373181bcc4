import { seededRandom } from '../load/rng.ts';

/**
 * The statistics of a leaderboard, pure and deterministic: medians, a seeded percentile bootstrap of
 * the median over repetitions, and when two neighbours in the ranking are statistically tied.
 */

/** The spread of one measure over a submission's repetitions. */
export interface Interval {
  n: number;
  median: number;
  min: number;
  max: number;
  /** Percentile-bootstrap 95 % interval of the median (seeded: the same values give the same bounds). */
  lo: number;
  hi: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** FNV-1a of a string: a stable seed per (submission, measure). */
export function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Value at quantile q of sorted values (linear interpolation between neighbours). */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Median, min–max and the percentile-bootstrap 95 % interval of the median of `xs` (`resamples`
 * resamples with replacement, seeded by `seed`). With one value the interval is that value.
 */
export function bootstrapInterval(xs: readonly number[], seed: number, resamples = 2000): Interval {
  if (xs.length === 0) throw new Error('bootstrapInterval: no values');
  const rnd = seededRandom(seed);
  const meds: number[] = [];
  const pick = new Array<number>(xs.length);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < xs.length; i++) pick[i] = xs[Math.floor(rnd() * xs.length)]!;
    meds.push(median(pick));
  }
  meds.sort((a, b) => a - b);
  return {
    n: xs.length,
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    lo: quantile(meds, 0.025),
    hi: quantile(meds, 0.975),
  };
}

/** Two intervals overlap (share at least one point). */
export function overlaps(a: Pick<Interval, 'lo' | 'hi'>, b: Pick<Interval, 'lo' | 'hi'>): boolean {
  return a.lo <= b.hi && b.lo <= a.hi;
}

export interface Ranked<T> {
  item: T;
  /** 1-based; tied neighbours share the rank of the first of their run of ties. */
  rank: number;
  /** Tied with the entry above (its 95 % interval overlaps this one's, same gate group). */
  tiedWithAbove: boolean;
}

/**
 * Rank entries: those whose every run passed the gates first, then by median (higher is better). A
 * neighbour whose bootstrap interval overlaps the one above it (and is in the same gate group) is
 * statistically tied with it and shares its rank; ties chain (A~B, B~C: A, B, C share a rank).
 */
export function rankEntries<T>(
  items: readonly T[],
  key: (t: T) => { gatesPassed: boolean; interval: Interval; name: string },
): Ranked<T>[] {
  const sorted = [...items].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    if (x.gatesPassed !== y.gatesPassed) return x.gatesPassed ? -1 : 1;
    return y.interval.median - x.interval.median || x.name.localeCompare(y.name);
  });
  const out: Ranked<T>[] = [];
  sorted.forEach((item, i) => {
    const prev = out[i - 1];
    const tied =
      prev !== undefined &&
      key(prev.item).gatesPassed === key(item).gatesPassed &&
      overlaps(key(prev.item).interval, key(item).interval);
    out.push({ item, rank: tied ? prev.rank : i + 1, tiedWithAbove: tied });
  });
  return out;
}
