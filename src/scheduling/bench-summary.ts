import { writeFileSync } from 'node:fs';
import type { Metrics } from '../scoring/types.ts';
import type { RoundResult, SchedulerSummary, SchedulingBenchResult } from './bench-types.ts';
import { BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME } from './keys.ts';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function mostCommon(xs: readonly string[]): string {
  const n = new Map<string, number>();
  for (const x of xs) n.set(x, (n.get(x) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
}

/** Pure: a scheduler's median figures over its measured rounds. */
export function summarise(scheduler: string, rounds: readonly RoundResult[]): SchedulerSummary {
  const rs = rounds.filter((r) => r.scheduler === scheduler);
  const med = (f: (r: RoundResult) => number): number => Math.round(median(rs.map(f)) * 1000) / 1000;
  return {
    scheduler,
    rounds: rs.length,
    p50: med((r) => r.paced.latency.p50),
    p99: med((r) => r.paced.latency.p99),
    burstP99: med((r) => r.burst.latency.p99),
    throughput: med((r) => r.burst.throughput),
    cpuSpread: med((r) => r.quality.cpuSpread),
    lowLatencyShare: med((r) => r.quality.lowLatencyShare),
    meanLatencyMs: med((r) => r.quality.meanLatencyMs),
    onDownUplink: Math.max(0, ...rs.map((r) => r.quality.onDownUplink)),
    limitedBy: mostCommon(rs.map((r) => r.burst.limitedBy?.component ?? 'unknown')),
    p99s: rs.map((r) => r.paced.latency.p99),
    throughputs: rs.map((r) => r.burst.throughput),
  };
}

/** The evidence the rubric consumes (scenarios/rubric.ts): the edge scheduler's medians over its rounds. */
export function schedulingMetrics(r: SchedulingBenchResult): Metrics {
  const e = r.edge;
  const source = `bench:scheduling ${EDGE_SCHEDULER_NAME} ${r.nodes} nodes/${r.pods} pods, median of ${e.rounds} round(s)`;
  const spread = (xs: number[]): { spread: { min: number; max: number; n: number } } => ({
    spread: { min: Math.min(...xs), max: Math.max(...xs), n: xs.length },
  });
  const m: Metrics = {
    'scheduling.p99-ms': { value: e.p99, unit: 'ms', source, ...spread(e.p99s) },
    'scheduling.p50-ms': { value: e.p50, unit: 'ms', source },
    'scheduling.throughput-pods-per-s': {
      value: e.throughput,
      unit: 'pods/s',
      source,
      ...spread(e.throughputs),
    },
    'scheduling.cpu-spread': { value: e.cpuSpread, unit: 'stddev of node CPU utilisation', source },
    'scheduling.low-latency-share': { value: e.lowLatencyShare, unit: 'ratio', source },
  };
  if (r.migration && r.migration.toReady.count > 0) {
    m['reschedule.p99-ms'] = {
      value: r.migration.toReady.p99,
      unit: 'ms',
      source: `bench:scheduling overload migration (${r.migration.trials} trial(s), ${r.migration.toReady.count} pods)`,
      spread: { min: r.migration.toReady.p50, max: r.migration.toReady.max, n: r.migration.toReady.count },
    };
  }
  return m;
}

/** Columns of comparisonRows. */
export const comparisonHeader = [
  'round',
  'scheduler',
  'p50 ms',
  'p99 ms',
  'burst pods/s',
  'burst p99 ms',
  'CPU sd',
  'on lowest-latency node',
  'ms to source',
  'cloud pods on down uplink',
];

/**
 * One table: each round's figures per scheduler with the edge/default ratio of the pair under
 * them, then the medians and the ratio of the medians. p50/p99: the paced phase; pods/s and
 * burst p99: the burst phase; placement: the whole round.
 */
export function comparisonRows(r: SchedulingBenchResult): string[][] {
  type Figures = [number, number, number, number, number, number, number, number];
  const fig = (x: RoundResult): Figures => [
    x.paced.latency.p50,
    x.paced.latency.p99,
    x.burst.throughput,
    x.burst.latency.p99,
    x.quality.cpuSpread,
    x.quality.lowLatencyShare,
    x.quality.meanLatencyMs,
    x.quality.onDownUplink,
  ];
  const sum = (x: SchedulerSummary): Figures => [
    x.p50,
    x.p99,
    x.throughput,
    x.burstP99,
    x.cpuSpread,
    x.lowLatencyShare,
    x.meanLatencyMs,
    x.onDownUplink,
  ];
  const name = (s: string): string => (s === EDGE_SCHEDULER_NAME ? 'edge' : 'default');
  const ratios = (d: Figures, e: Figures): string[] =>
    e.map((y, i) => (i === 7 ? '-' : d[i] === 0 ? '-' : (y / d[i]!).toFixed(2)));
  const rows: string[][] = [];
  const rounds = [...new Set(r.rounds.map((x) => x.round))];
  for (const n of rounds) {
    const d = r.rounds.find((x) => x.round === n && x.scheduler === BASELINE_SCHEDULER_NAME);
    const e = r.rounds.find((x) => x.round === n && x.scheduler === EDGE_SCHEDULER_NAME);
    for (const x of [d, e]) if (x) rows.push([String(n), name(x.scheduler), ...fig(x).map(String)]);
    if (d && e) rows.push([String(n), 'edge/default', ...ratios(fig(d), fig(e))]);
  }
  rows.push(['median', 'default', ...sum(r.baseline).map(String)]);
  rows.push(['median', 'edge', ...sum(r.edge).map(String)]);
  rows.push(['median', 'edge/default', ...ratios(sum(r.baseline), sum(r.edge))]);
  return rows;
}

/** Columns of breakdownRows. */
export const breakdownHeader = [
  'round',
  'scheduler',
  'queue → bound ms',
  'filter+score ms',
  'bind call ms',
  'limiter wait ms/POST',
  'scheduler CPU ms/pod',
];

/** The paced phase as each scheduler saw it (means from its /metrics), round by round. */
export function breakdownRows(r: SchedulingBenchResult): string[][] {
  return r.rounds
    .filter((x) => x.paced.scheduler)
    .map((x) => {
      const b = x.paced.scheduler!;
      return [
        String(x.round),
        x.scheduler === EDGE_SCHEDULER_NAME ? 'edge' : 'default',
        ...[b.queueToBoundMs, b.algorithmMs, b.bindMs, b.limiterWaitMs, b.cpuMsPerPod].map(String),
      ];
    });
}

export function writeEvidence(file: string, r: SchedulingBenchResult): void {
  writeFileSync(
    file,
    JSON.stringify({ kind: 'scheduling-bench', metrics: schedulingMetrics(r), result: r }, null, 2) + '\n',
  );
}

/** Columns of limitRows. */
export const limitHeader = [
  'round',
  'scheduler',
  'burst pods/s',
  'created/s',
  'limiter wait ms/POST',
  'filter+score ms',
  'bind call ms',
  'scheduler CPU ms/pod',
  'limited by',
];

/** The burst phase: what limited each throughput figure, from the scheduler's own metrics. */
export function limitRows(r: SchedulingBenchResult): string[][] {
  return r.rounds.map((x) => {
    const b = x.burst.scheduler;
    return [
      String(x.round),
      x.scheduler === EDGE_SCHEDULER_NAME ? 'edge' : 'default',
      String(x.burst.throughput),
      String(x.burst.arrivalPerSecond),
      ...(b ? [b.limiterWaitMs, b.algorithmMs, b.bindMs, b.cpuMsPerPod].map(String) : ['-', '-', '-', '-']),
      x.burst.limitedBy?.component ?? 'unknown',
    ];
  });
}
