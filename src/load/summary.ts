import { closeSync, openSync, readSync } from 'node:fs';
import type * as hdr from 'hdr-histogram-js';
import { newHistogram } from './metrics.ts';
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
  /** Iterations that threw (each counted as a failed iteration; the run went on). */
  iterationErrors: number;
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

/** Exact stats of a (small) set of samples, e.g. one fault window. */
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

/** One JSON line → sample; undefined for a torn line (after a kill) or garbage. */
function parseLine(line: string): Sample | undefined {
  if (!line) return undefined;
  try {
    return JSON.parse(line) as Sample;
  } catch {
    return undefined;
  }
}

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const s = parseLine(line);
    if (s) out.push(s);
  }
  return out;
}

/**
 * Calls `fn` for every sample of a JSON-lines file, reading 1 MiB at a time (memory: one chunk and
 * one partial line, whatever the file's size).
 */
export function forEachSample(file: string, fn: (s: Sample) => void): void {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(1 << 20);
  let rest = '';
  let pos = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      pos += n;
      // Cut at the last newline in bytes, so a multi-byte character is never split.
      const nl = buf.lastIndexOf(10, n - 1);
      if (nl < 0) {
        rest += buf.toString('utf8', 0, n);
        continue;
      }
      const text = rest + buf.toString('utf8', 0, nl);
      rest = buf.toString('utf8', nl + 1, n);
      let i = 0;
      for (let j = text.indexOf('\n'); j >= 0; j = text.indexOf('\n', i)) {
        const s = parseLine(text.slice(i, j));
        if (s) fn(s);
        i = j + 1;
      }
      const s = parseLine(text.slice(i));
      if (s) fn(s);
    }
    const s = parseLine(rest);
    if (s) fn(s);
  } finally {
    closeSync(fd);
  }
}

/** All samples of a file (streamed line by line; the array is what the caller asked for). */
export function readSamples(file: string): Sample[] {
  const out: Sample[] = [];
  forEachSample(file, (s) => out.push(s));
  return out;
}

class LatencyAgg {
  count = 0;
  ok = 0;
  max = 0;
  first = Infinity;
  last = -Infinity;
  readonly h: hdr.Histogram = newHistogram();
  add(s: HttpSample): void {
    this.count++;
    if (s.ok) this.ok++;
    if (s.duration > this.max) this.max = s.duration;
    if (s.t < this.first) this.first = s.t;
    if (s.t > this.last) this.last = s.t;
    this.h.recordValue(Math.max(0, Math.round(s.duration * 1000)));
  }
  stats(windowMs: number): LatencyStats {
    const p = (q: number): number => (this.count ? this.h.getValueAtPercentile(q) / 1000 : 0);
    return {
      count: this.count,
      ok: this.ok,
      failed: this.count - this.ok,
      rate: windowMs > 0 ? (this.count * 1000) / windowMs : 0,
      p50: p(50),
      p95: p(95),
      p99: p(99),
      max: this.max,
    };
  }
}

/** At most this many distinct names/nodes get their own stats; the rest go to "(other)". */
const MAX_KEYS = 500;
/** A second's histogram is folded into its series point once samples are this far past it. */
const SERIES_HORIZON_S = 120;

/**
 * Streaming summary: add samples in any order, read the summary at the end. Memory is bounded by
 * the number of distinct names/nodes and of seconds within the horizon, not by the sample count
 * (percentiles come from HDR histograms, 3 significant digits).
 */
export class SummaryBuilder {
  private readonly all = new LatencyAgg();
  private readonly byName = new Map<string, LatencyAgg>();
  private readonly byNode = new Map<string, LatencyAgg>();
  private readonly checks: LoadSummary['checks'] = {};
  private readonly writes = { ok: 0, failed: 0, indeterminate: 0 };
  private readonly open = new Map<number, { requests: number; errors: number; h: hdr.Histogram }>();
  private readonly closed = new Map<number, SeriesPoint>();
  private maxSec = 0;
  private end = 0;
  private dropped = 0;
  private errors = 0;
  private cpu: number | undefined;

  private agg(m: Map<string, LatencyAgg>, k: string): LatencyAgg {
    let a = m.get(k);
    if (!a) {
      if (m.size >= MAX_KEYS) k = '(other)';
      a = m.get(k);
      if (!a) m.set(k, (a = new LatencyAgg()));
    }
    return a;
  }

  add(s: Sample): void {
    const tEnd = s.t + (s.type === 'http' ? s.duration : 0);
    if (tEnd > this.end) this.end = tEnd;
    switch (s.type) {
      case 'http': {
        this.all.add(s);
        this.agg(this.byName, s.name).add(s);
        if (s.node !== undefined) this.agg(this.byNode, s.node).add(s);
        const sec = Math.floor(s.t / 1000);
        const done = this.closed.get(sec);
        if (done) {
          done.requests++;
          if (!s.ok) done.errors++;
          break;
        }
        let b = this.open.get(sec);
        if (!b) this.open.set(sec, (b = { requests: 0, errors: 0, h: newHistogram() }));
        b.requests++;
        if (!s.ok) b.errors++;
        b.h.recordValue(Math.max(0, Math.round(s.duration * 1000)));
        if (sec > this.maxSec) {
          this.maxSec = sec;
          for (const k of [...this.open.keys()]) if (k < sec - SERIES_HORIZON_S) this.close(k);
        }
        break;
      }
      case 'check': {
        const c = (this.checks[s.name] ??= { passes: 0, fails: 0 });
        if (s.ok) c.passes++;
        else c.fails++;
        break;
      }
      case 'write':
        this.writes[s.outcome]++;
        break;
      case 'dropped':
        this.dropped++;
        break;
      case 'error':
        this.errors++;
        break;
      case 'end':
        this.cpu = s.cpuSeconds;
        break;
    }
  }

  private close(sec: number): void {
    const b = this.open.get(sec)!;
    this.open.delete(sec);
    this.closed.set(sec, {
      t: sec,
      requests: b.requests,
      errors: b.errors,
      p99: b.h.getValueAtPercentile(99) / 1000,
    });
  }

  result(): LoadSummary {
    for (const k of [...this.open.keys()]) this.close(k);
    const end = this.end;
    const per = (m: Map<string, LatencyAgg>): Record<string, LatencyStats> =>
      Object.fromEntries([...m].map(([k, v]) => [k, v.stats(end)]));
    return {
      durationMs: end,
      http: this.all.stats(end),
      byName: per(this.byName),
      byNode: per(this.byNode),
      checks: this.checks,
      dropped: this.dropped,
      iterationErrors: this.errors,
      writes: this.writes,
      series: [...this.closed.values()].sort((a, b) => a.t - b.t),
      runnerCpuSeconds: this.cpu,
    };
  }
}

/** Samples → summary with per-second series (request rate, errors, p99). */
export function summarize(samples: Iterable<Sample>): LoadSummary {
  const b = new SummaryBuilder();
  for (const s of samples) b.add(s);
  return b.result();
}

/** The summary of a samples file, streamed (bounded memory for hour-long soaks). */
export function summarizeFile(file: string): LoadSummary {
  const b = new SummaryBuilder();
  forEachSample(file, (s) => b.add(s));
  return b.result();
}
