import type { CheckResult } from '../checks/types.ts';
import { EdgechaosError } from '../core/errors.ts';
import type { EmulatedMetric, Metrics } from './types.ts';

/** Two checks produced the same metric: which one the score should use is not ours to guess. */
export class MetricCollisionError extends EdgechaosError {
  constructor(
    readonly metric: string,
    readonly checks: readonly [string, string],
  ) {
    super(`metric ${metric} is produced by two checks: ${checks[0]} and ${checks[1]}`);
  }
}

/** The metrics of every check in one map; a metric produced by two checks throws, naming both. */
export function mergeMetrics(checks: readonly Pick<CheckResult, 'id' | 'metrics'>[]): Metrics {
  const out: Metrics = {};
  const by = new Map<string, string>();
  for (const c of checks) {
    for (const [name, metric] of Object.entries(c.metrics)) {
      const first = by.get(name);
      if (first !== undefined) throw new MetricCollisionError(name, [first, c.id]);
      by.set(name, c.id);
      out[name] = metric;
    }
  }
  return out;
}

/** Metric → why the submission did not provide it, from checks built with notProvided(). */
export function notProvidedMetrics(
  checks: readonly Pick<CheckResult, 'id' | 'notProvided'>[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of checks)
    if (c.notProvided)
      for (const name of c.notProvided.metrics) out[name] = `${c.id}: ${c.notProvided.reason}`;
  return out;
}

/** Metric → its value measured on emulated nodes alone ("emulated, not scored"), from the checks. */
export function emulatedMetrics(
  checks: readonly Pick<CheckResult, 'emulated'>[],
): Record<string, EmulatedMetric> {
  const out: Record<string, EmulatedMetric> = {};
  for (const c of checks)
    for (const [name, measured] of Object.entries(c.emulated?.metrics ?? {}))
      out[name] = { measured, nodes: c.emulated!.nodes };
  return out;
}

/** What score() needs from a run's checks. */
export interface ScoringInput {
  metrics: Metrics;
  /** Metric → reason: the submission did not provide it (scores zero, its gates fail). */
  notProvided?: Record<string, string>;
  /** Metric → the value measured on emulated nodes: shown, never scored. */
  emulated?: Record<string, EmulatedMetric>;
  /** The run was interrupted: scored as nothing. */
  interrupted?: boolean;
}

export function scoringInput(
  checks: readonly Pick<CheckResult, 'id' | 'metrics' | 'notProvided' | 'emulated'>[],
  opts: { interrupted?: boolean } = {},
): ScoringInput {
  const emulated = emulatedMetrics(checks);
  return {
    metrics: mergeMetrics(checks),
    notProvided: notProvidedMetrics(checks),
    ...(Object.keys(emulated).length ? { emulated } : {}),
    ...(opts.interrupted ? { interrupted: true } : {}),
  };
}
