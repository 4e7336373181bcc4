import { Registry, type MetricState } from './metrics.ts';
import type { ParsedThreshold } from './thresholds.ts';
import type { MetricSummary, ThresholdResult } from './types.ts';

/** What one runner hands over for merging: its aggregates, its run's length and its thresholds. */
export interface RunnerState {
  durationMs: number;
  trendStats: string[];
  thresholds: ParsedThreshold[];
  metrics: MetricState[];
}

/**
 * The runners of `--load-replicas N` as one test, as k6 aggregates a distributed run: every metric
 * merged (counters and rates add up, trends merge their histograms, so a p(99) is that of all the
 * requests), rates per second over the longest runner, and the thresholds evaluated once on the
 * merged metrics. A threshold that aborted a runner stays failed and marked.
 */
export function mergeRunners(
  parts: readonly { state: RunnerState; thresholds: readonly ThresholdResult[] }[],
): { metrics: Record<string, MetricSummary>; thresholds: ThresholdResult[] } {
  if (parts.length === 0) return { metrics: {}, thresholds: [] };
  const reg = new Registry();
  const first = parts[0]!.state;
  reg.bindThresholds(first.thresholds);
  for (const p of parts) reg.absorb(p.state.metrics);
  const durationMs = Math.max(...parts.map((p) => p.state.durationMs));
  const thresholds = reg.evaluate(first.thresholds, durationMs);
  for (const r of thresholds) {
    const hit = (t: ThresholdResult): boolean => t.metric === r.metric && t.expression === r.expression;
    if (parts.some((p) => p.thresholds.some((t) => hit(t) && t.aborted)))
      Object.assign(r, { ok: false, aborted: true });
  }
  return { metrics: reg.summary(durationMs, first.trendStats, thresholds), thresholds };
}
