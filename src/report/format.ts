import { describeEmulated, EMULATED_NOT_SCORED } from '../checks/types.ts';
import type { EmulatedMetric, Metric } from '../scoring/types.ts';

/** Shares in [0,1] whose name says so are shown as percentages; other ratios as factors. */
function isShare(name: string, value: number): boolean {
  return value >= 0 && value <= 1 && /(rate|pass-ratio|share)$/.test(name);
}

/** A metric's value with its unit, for people: "3.04 MB", "36.3 ms", "97.47%", "2.24×". */
export function formatMetric(name: string, m: Pick<Metric, 'value' | 'unit'>): string {
  const v = m.value;
  switch (m.unit) {
    case 'B':
      return formatBytes(v);
    case 'ms':
      return `${trim(v, v >= 100 ? 0 : 1)} ms`;
    case 's':
      return `${trim(v, 2)} s`;
    case 'ratio':
      return isShare(name, v) ? `${(v * 100).toFixed(2)}%` : `${trim(v, 2)}×`;
    default: {
      const per = bytesPer[m.unit];
      if (per !== undefined) return formatBytes(v * per);
      return `${Number.isInteger(v) ? String(v) : trim(v, 2)} ${m.unit}`;
    }
  }
}

/**
 * Bytes in decimal (SI) units, the same everywhere — checks, score, reports: "812 B", "3.40 kB",
 * "3.04 MB", "1.25 GB". Decimal because the track states its limits so ("images under 10 MB") and
 * the rubric's anchors are decimal bytes (10,000,000).
 */
export function formatBytes(v: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let x = v;
  let i = 0;
  while (Math.abs(x) >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(x)} B` : `${x.toFixed(2)} ${units[i]}`;
}

/** Sizes given in other units, as bytes (so they print in the same units too). */
const bytesPer: Record<string, number> = {
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  kB: 1e3,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
};

/** Points as shown in the score table and compared by the browser test: one decimal. */
export function formatPoints(p: number | undefined): string {
  return p === undefined ? '—' : p.toFixed(1);
}

/** ms since load start → "+12.3 s" / "-3.0 s". */
export function formatOffset(ms: number): string {
  const s = ms / 1000;
  return `${s >= 0 ? '+' : '−'}${Math.abs(s).toFixed(1)} s`;
}

function trim(v: number, digits: number): string {
  return Number(v.toFixed(digits)).toString();
}

/** One evidence list item as a line: its `id` when it has one (lost writes), else its JSON. */
export function evidenceItem(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'object' && x !== null && 'id' in x) return String(x.id);
  return JSON.stringify(x);
}

/** A metric measured on emulated nodes, for people: "812 ms on edge-2 (arm64 under qemu-user): emulated, not scored". */
export function formatEmulated(name: string, e: EmulatedMetric): string {
  return `${formatMetric(name, e.measured)} on ${describeEmulated(e.nodes)}: ${EMULATED_NOT_SCORED}`;
}

/**
 * How each node's stack ran, for people (from the run record's evidence): "edge-1 container; edge-2
 * process (no OCI runtime (runc) on the board: fell back to the process)". undefined: not recorded.
 */
export function formatRuntimes(
  runtimes: Readonly<Record<string, { runtime: 'oci' | 'process'; reason: string }>> | undefined,
): string | undefined {
  if (!runtimes || Object.keys(runtimes).length === 0) return undefined;
  return Object.entries(runtimes)
    .map(([n, r]) => (r.runtime === 'oci' ? `${n} container` : `${n} process (${r.reason})`))
    .join('; ');
}
