import { readFileSync } from 'node:fs';
import type { Sample } from './types.ts';

export interface LatencyStats {
  count: number;
  ok: number;
  failed: number;
  /** requests per second over the window the samples span */
  rate: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface SeriesPoint {
  /** second since the load started */
  t: number;
  requests: number;
  errors: number;
  p99: number;
}

export interface LoadSummary {
  durationMs: number;
  http: LatencyStats;
  byName: Record<string, LatencyStats>;
  byNode: Record<string, LatencyStats>;
  checks: Record<string, { passes: number; fails: number }>;
  dropped: number;
  writes: { ok: number; failed: number; indeterminate: number };
  series: SeriesPoint[];
  /** CPU seconds the load runner process used (undefined if it was killed before reporting). */
  runnerCpuSeconds: number | undefined;
}

export type WriteSample = Extract<Sample, { type: 'write' }>;
export type HttpSample = Extract<Sample, { type: 'http' }>;

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function stats(samples: readonly HttpSample[], windowMs?: number): LatencyStats {
  const d = samples.map((s) => s.duration).sort((a, b) => a - b);
  const ok = samples.filter((s) => s.ok).length;
  const span = windowMs ?? (samples.length > 1 ? samples[samples.length - 1]!.t - samples[0]!.t : 0);
  return {
    count: samples.length,
    ok,
    failed: samples.length - ok,
    rate: span > 0 ? (samples.length * 1000) / span : 0,
    p50: percentile(d, 50),
    p95: percentile(d, 95),
    p99: percentile(d, 99),
    max: d[d.length - 1] ?? 0,
  };
}

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as Sample);
    } catch {
      /* a torn last line after a kill */
    }
  }
  return out;
}

export function readSamples(file: string): Sample[] {
  return parseSamples(readFileSync(file, 'utf8'));
}

function groupBy<T>(xs: readonly T[], key: (x: T) => string | undefined): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    if (k === undefined) continue;
    const arr = m.get(k);
    if (arr) arr.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/** Pure: samples → summary with per-second series (request rate, errors, p99). */
export function summarize(samples: readonly Sample[]): LoadSummary {
  const http = samples.filter((s): s is HttpSample => s.type === 'http').sort((a, b) => a.t - b.t);
  const end = samples.reduce((m, s) => Math.max(m, s.t + (s.type === 'http' ? s.duration : 0)), 0);
  const checks: LoadSummary['checks'] = {};
  for (const s of samples) {
    if (s.type !== 'check') continue;
    const c = (checks[s.name] ??= { passes: 0, fails: 0 });
    if (s.ok) c.passes++;
    else c.fails++;
  }
  const writes = { ok: 0, failed: 0, indeterminate: 0 };
  for (const s of samples) if (s.type === 'write') writes[s.outcome]++;
  const series: SeriesPoint[] = [];
  for (const [sec, xs] of groupBy(http, (s) => String(Math.floor(s.t / 1000)))) {
    const d = xs.map((x) => x.duration).sort((a, b) => a - b);
    series.push({
      t: Number(sec),
      requests: xs.length,
      errors: xs.filter((x) => !x.ok).length,
      p99: percentile(d, 99),
    });
  }
  series.sort((a, b) => a.t - b.t);
  return {
    durationMs: end,
    http: stats(http, end),
    byName: Object.fromEntries([...groupBy(http, (s) => s.name)].map(([k, v]) => [k, stats(v, end)])),
    byNode: Object.fromEntries([...groupBy(http, (s) => s.node)].map(([k, v]) => [k, stats(v, end)])),
    checks,
    dropped: samples.filter((s) => s.type === 'dropped').length,
    writes,
    series,
    runnerCpuSeconds: samples.find((s): s is Extract<Sample, { type: 'end' }> => s.type === 'end')
      ?.cpuSeconds,
  };
}
