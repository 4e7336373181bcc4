import { percentile } from '../load/summary.ts';
import type { Metric, Metrics } from '../scoring/types.ts';

/** What a check concludes: a verdict, the metrics it measured, and the evidence behind them. */
export interface CheckResult {
  id: string;
  title: string;
  status: 'passed' | 'failed' | 'not-measured';
  /** One line for people: what was measured and why the verdict. */
  summary: string;
  metrics: Metrics;
  /** Data behind the verdict (e.g. the lost ids), kept in run.json and attached to reports. */
  evidence: Record<string, unknown>;
  /** How long the check took (its measurement and evaluation), ms; set by the campaign. */
  durationMs?: number;
}

export function notMeasured(id: string, title: string, why: string): CheckResult {
  return { id, title, status: 'not-measured', summary: why, metrics: {}, evidence: {} };
}

/** The median of repeated measurements (ascending) as a metric, with their spread. */
export function medianMetric(sorted: readonly number[], unit: string, source: string): Metric {
  return {
    value: percentile(sorted, 50),
    unit,
    source,
    spread: { min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0, n: sorted.length },
  };
}
