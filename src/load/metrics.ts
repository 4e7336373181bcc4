import * as hdr from 'hdr-histogram-js';
import { UsageError } from '../core/errors.ts';
import { AGGREGATES, evaluate, matches, type ParsedThreshold } from './thresholds.ts';
import type { MetricSummary, ThresholdResult } from './types.ts';

/**
 * The runner's metrics, aggregated in memory as they happen (bounded: a Trend is an HDR histogram of
 * microseconds with 3 significant digits, whatever the number of samples), in k6's four types.
 */
export type MetricType = MetricSummary['type'];
export type Contains = MetricSummary['contains'];

/**
 * Histogram of values ×1000 (µs for time metrics). `packed` (memory grows with the distinct buckets
 * used; for the many per-second histograms of a summary) or 32-bit counts (a fixed ~100 KiB, several
 * times faster to record; for the runner's own metrics, one per trend).
 */
export function newHistogram(packed = true): hdr.Histogram {
  return hdr.build({
    bitBucketSize: packed ? 'packed' : 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2 ** 40,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** A sink as JSON (a segment's aggregate, for `--load-replicas`): the histogram HDR-encoded. */
export interface SinkState {
  count: number;
  sum: number;
  /** null when the sink is empty (JSON has no Infinity). */
  min: number | null;
  max: number | null;
  passes: number;
  last: number;
  hist?: string;
}

export class Sink {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  /** Rate: non-zero adds. Gauge: last value. */
  passes = 0;
  last = 0;
  hist: hdr.Histogram | undefined;

  constructor(readonly type: MetricType) {
    if (type === 'trend') this.hist = newHistogram(false);
  }

  add(v: number): void {
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.type === 'rate') {
      if (v !== 0) this.passes++;
    } else if (this.type === 'gauge') this.last = v;
    else if (this.hist) this.hist.recordValue(v > 0 ? Math.round(v * 1000) : 0);
  }

  toState(): SinkState {
    return {
      count: this.count,
      sum: this.sum,
      min: this.count ? this.min : null,
      max: this.count ? this.max : null,
      passes: this.passes,
      last: this.last,
      ...(this.hist ? { hist: hdr.encodeIntoCompressedBase64(this.hist) } : {}),
    };
  }

  /**
   * Add another runner's aggregate of the same metric: counts, sums, passes and histograms add up
   * (a merged trend has exactly the percentiles of one runner fed every sample). A gauge's value is
   * `sumLast` ? the sum of the runners' last values (VUs of all replicas) : the larger one.
   */
  absorb(o: SinkState, sumLast: boolean): void {
    if (o.count === 0) return;
    const first = this.count === 0;
    this.count += o.count;
    this.sum += o.sum;
    this.min = Math.min(this.min, o.min ?? Infinity);
    this.max = Math.max(this.max, o.max ?? -Infinity);
    this.passes += o.passes;
    this.last = sumLast ? this.last + o.last : first ? o.last : Math.max(this.last, o.last);
    if (this.hist && o.hist) this.hist.add(hdr.decodeFromCompressedBase64(o.hist, 32, false));
  }

  percentile(p: number): number {
    if (!this.hist || this.count === 0) return 0;
    return this.hist.getValueAtPercentile(p) / 1000;
  }

  /** One aggregate by k6's name (avg, min, max, med, count, rate, value, p(N)); undefined if no data. */
  aggregate(name: string, durationMs: number): number | undefined {
    if (this.count === 0) return undefined;
    switch (name) {
      case 'avg':
        return this.sum / this.count;
      case 'min':
        return this.min;
      case 'max':
        return this.max;
      case 'med':
        return this.percentile(50);
      case 'count':
        return this.type === 'counter' ? this.sum : this.count;
      case 'rate':
        return this.type === 'rate'
          ? this.passes / this.count
          : durationMs > 0
            ? this.sum / (durationMs / 1000)
            : 0;
      case 'value':
        return this.last;
      default: {
        const m = /^p\((\d+(?:\.\d+)?)\)$/.exec(name);
        return m ? this.percentile(Number(m[1])) : undefined;
      }
    }
  }

  values(durationMs: number, trendStats: readonly string[]): Record<string, number> {
    const a = (n: string): number => this.aggregate(n, durationMs) ?? 0;
    switch (this.type) {
      case 'counter':
        return { count: a('count'), rate: a('rate') };
      case 'rate':
        return { rate: a('rate'), passes: this.passes, fails: this.count - this.passes };
      case 'gauge':
        return { value: a('value'), min: a('min'), max: a('max') };
      case 'trend':
        return Object.fromEntries(trendStats.map((s) => [s, a(s)]));
    }
  }
}

interface Submetric {
  key: string;
  filter: Record<string, string>;
  sink: Sink;
}

export class Metric {
  readonly sink: Sink;
  readonly subs: Submetric[] = [];
  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly contains: Contains,
  ) {
    this.sink = new Sink(type);
  }

  add(v: number, tags: Readonly<Record<string, string | undefined>> | undefined): void {
    this.sink.add(v);
    if (this.subs.length === 0 || !tags) return;
    for (const s of this.subs) if (matches(s.filter, tags)) s.sink.add(v);
  }

  submetric(key: string, filter: Record<string, string>): Sink {
    let s = this.subs.find((x) => x.key === key);
    if (!s) this.subs.push((s = { key, filter, sink: new Sink(this.type) }));
    return s.sink;
  }
}

/** k6's built-in metrics (the ones this runner produces). */
export const BUILTIN = {
  http_reqs: ['counter', 'default'],
  http_req_duration: ['trend', 'time'],
  http_req_blocked: ['trend', 'time'],
  http_req_connecting: ['trend', 'time'],
  http_req_tls_handshaking: ['trend', 'time'],
  http_req_sending: ['trend', 'time'],
  http_req_waiting: ['trend', 'time'],
  http_req_receiving: ['trend', 'time'],
  http_req_failed: ['rate', 'default'],
  iterations: ['counter', 'default'],
  iteration_duration: ['trend', 'time'],
  dropped_iterations: ['counter', 'default'],
  checks: ['rate', 'default'],
  data_sent: ['counter', 'data'],
  data_received: ['counter', 'data'],
  vus: ['gauge', 'default'],
  vus_max: ['gauge', 'default'],
  group_duration: ['trend', 'time'],
} as const satisfies Record<string, readonly [MetricType, Contains]>;

export const DEFAULT_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];

/** A metric as JSON: its sink and its submetrics' (see Sink.toState). */
export interface MetricState {
  name: string;
  type: MetricType;
  contains: Contains;
  sink: SinkState;
  subs: { key: string; filter: Record<string, string>; sink: SinkState }[];
}

/** Gauges whose merged value is the sum over runners (k6 adds VUs over instances). */
const SUMMED_GAUGES = new Set(['vus', 'vus_max']);

export class Registry {
  readonly metrics = new Map<string, Metric>();
  /** The built-in metrics by name (the hot path reaches them without a map lookup). */
  readonly builtin: Record<keyof typeof BUILTIN, Metric>;

  constructor() {
    const b: Record<string, Metric> = {};
    for (const [n, [t, c]] of Object.entries(BUILTIN)) this.metrics.set(n, (b[n] = new Metric(n, t, c)));
    this.builtin = b;
  }

  /** Declare a custom metric (k6: `new Trend(name, isTime)`); the same name twice must agree on type. */
  declare(name: string, type: MetricType, isTime = false): Metric {
    if (!/^[A-Za-z_][\w.-]{0,127}$/.test(name)) throw new UsageError(`metric name "${name}" is invalid`);
    const existing = this.metrics.get(name);
    if (existing) {
      if (existing.type !== type)
        throw new UsageError(`metric "${name}" already exists as a ${existing.type}`);
      return existing;
    }
    const m = new Metric(name, type, isTime ? 'time' : 'default');
    this.metrics.set(name, m);
    return m;
  }

  get(name: string): Metric | undefined {
    return this.metrics.get(name);
  }

  /** Attach the submetrics thresholds need; unknown metrics and unsupported aggregates are errors. */
  bindThresholds(ts: readonly ParsedThreshold[], file?: string): void {
    for (const t of ts) {
      const field = `options.thresholds.${t.metric.key}`;
      const m = this.metrics.get(t.metric.metric);
      if (!m)
        throw new UsageError(`no metric named "${t.metric.metric}" (built-in or declared by the script)`, {
          file,
          field,
        });
      if (!AGGREGATES[m.type]!(t.aggregate))
        throw new UsageError(`"${t.aggregate}" cannot be used on ${m.type} metric ${m.name}`, {
          file,
          field,
        });
      if (Object.keys(t.metric.filter).length) m.submetric(t.metric.key, t.metric.filter);
    }
  }

  sinkFor(key: string, metric: string): Sink | undefined {
    const m = this.metrics.get(metric);
    if (!m) return undefined;
    if (key === metric) return m.sink;
    return m.subs.find((s) => s.key === key)?.sink;
  }

  evaluate(ts: readonly ParsedThreshold[], durationMs: number): ThresholdResult[] {
    return ts.map((t) => {
      const value = this.sinkFor(t.metric.key, t.metric.metric)?.aggregate(t.aggregate, durationMs);
      return {
        metric: t.metric.key,
        expression: t.expression,
        ok: evaluate(t, value),
        value,
        abortOnFail: t.abortOnFail,
      };
    });
  }

  /** Every metric's aggregate as JSON (written by each `--load-replicas` runner). */
  toState(): MetricState[] {
    return [...this.metrics.values()].map((m) => ({
      name: m.name,
      type: m.type,
      contains: m.contains,
      sink: m.sink.toState(),
      subs: m.subs.map((s) => ({ key: s.key, filter: s.filter, sink: s.sink.toState() })),
    }));
  }

  /** Add another runner's aggregates (see Sink.absorb); a metric of another type is an error. */
  absorb(states: readonly MetricState[]): void {
    for (const st of states) {
      const m = this.metrics.get(st.name) ?? this.declare(st.name, st.type, st.contains === 'time');
      if (m.type !== st.type)
        throw new UsageError(`metric "${st.name}" is a ${m.type} here and a ${st.type} there`);
      const sum = SUMMED_GAUGES.has(st.name);
      m.sink.absorb(st.sink, sum);
      for (const s of st.subs) m.submetric(s.key, s.filter).absorb(s.sink, sum);
    }
  }

  /** k6's `data.metrics`: every metric with data (and every submetric a threshold named). */
  summary(
    durationMs: number,
    trendStats: readonly string[],
    results: readonly ThresholdResult[],
  ): Record<string, MetricSummary> {
    const out: Record<string, MetricSummary> = {};
    const put = (key: string, m: Metric, s: Sink): void => {
      const th = results.filter((r) => r.metric === key);
      if (s.count === 0 && th.length === 0) return;
      out[key] = {
        type: m.type,
        contains: m.contains,
        values: s.values(durationMs, trendStats),
        ...(th.length ? { thresholds: Object.fromEntries(th.map((r) => [r.expression, { ok: r.ok }])) } : {}),
      };
    };
    for (const m of this.metrics.values()) {
      put(m.name, m, m.sink);
      for (const s of m.subs) put(s.key, m, s.sink);
    }
    return out;
  }
}
