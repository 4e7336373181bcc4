import type { PodLatency, RescheduleResult } from './kube-evidence.ts';
import { notProvided, type CheckResult } from './types.ts';

/**
 * Kubernetes checks: how fast the cluster (its scheduler) binds the stack's pods, and how fast the
 * workload is back on other nodes after a node hosting it is lost. Both come from watch events with
 * millisecond arrival times (src/targets/kube/pod-latency.ts, reschedule.ts).
 */

/** Scheduling latency of the pods the deploy created: created → bound, p50/p99. */
export function checkSchedulingLatency(lat: PodLatency, maxP99Ms: number, scheduler: string): CheckResult {
  const s = lat.createdToScheduled;
  const measured = s.count > 0;
  if (!measured)
    return notProvided(
      'scheduling-latency',
      `Scheduling latency: pod created → bound (${scheduler})`,
      `none of the ${lat.pods} pods the deploy created was seen bound`,
      { evidence: { scheduler, podLatency: lat } },
    );
  return {
    id: 'scheduling-latency',
    title: `Scheduling latency: pod created → bound (${scheduler})`,
    status: measured && s.p99 <= maxP99Ms ? 'passed' : 'failed',
    summary: measured
      ? `${s.count} pods: p50 ${s.p50} ms, p99 ${s.p99} ms (limit ${maxP99Ms} ms); created → ready p99 ${lat.createdToReady.p99} ms`
      : `none of the ${lat.pods} pods the deploy created was seen bound`,
    metrics: measured
      ? {
          'scheduling.p99-ms': {
            value: s.p99,
            unit: 'ms',
            source: 'check:scheduling-latency',
          },
        }
      : {},
    evidence: { scheduler, podLatency: lat },
  };
}

export type RescheduleOutcome =
  | { ok: true; result: RescheduleResult }
  /** A trial ran out of time (or failed): the workload never came back within `timeoutMs`. */
  | { ok: false; error: string; timeoutMs: number; partial: RescheduleResult['trials']; mechanism: string };

/**
 * Rescheduling: over N trials, a node hosting workload pods is lost → every replica Ready on other
 * nodes. The verdict is p99 ≤ `maxP99Ms`. A trial that never finishes fails the check, and its
 * metric is the trial timeout: a lower bound, so a stack that never reschedules cannot score better
 * than one that does so slowly.
 */
export function checkRescheduling(outcome: RescheduleOutcome, maxP99Ms: number): CheckResult {
  const title = 'Rescheduling: node lost → workload Ready on other nodes';
  if (!outcome.ok) {
    return {
      id: 'rescheduling',
      title,
      status: 'failed',
      summary: `not rescheduled within ${outcome.timeoutMs} ms (${outcome.mechanism}) after ${outcome.partial.length} completed trial(s): ${outcome.error}`,
      metrics: {
        'reschedule.p99-ms': {
          value: outcome.timeoutMs,
          unit: 'ms',
          source: 'check:rescheduling (timed out: lower bound)',
        },
      },
      evidence: { mechanism: outcome.mechanism, trials: outcome.partial, error: outcome.error },
    };
  }
  const r = outcome.result;
  const q = r.rescheduled;
  if (q.count === 0)
    return notProvided(
      'rescheduling',
      title,
      `no trial saw the workload Ready on another node (${r.mechanism})`,
      {
        evidence: { ...r },
      },
    );
  return {
    id: 'rescheduling',
    title,
    status: q.count > 0 && q.p99 <= maxP99Ms ? 'passed' : 'failed',
    summary: `${q.count} trials (${r.mechanism}): p50 ${q.p50} ms, p99 ${q.p99} ms (limit ${maxP99Ms} ms); loss detected p50 ${r.detected.p50} ms`,
    metrics:
      q.count > 0
        ? {
            'reschedule.p99-ms': {
              value: q.p99,
              unit: 'ms',
              source: 'check:rescheduling',
              spread: { min: Math.min(...r.trials.map((t) => t.rescheduledMs)), max: q.max, n: q.count },
            },
          }
        : {},
    evidence: { ...r },
  };
}

/** What the scheduling benchmark found for the stack's scheduler and the default one (src/scheduling). */
export interface BenchSummary {
  nodes: number;
  pods: number;
  rounds: number;
  edge: { scheduler: string; p99: number; throughput: number; cpuSpread: number; lowLatencyShare: number };
  baseline: {
    scheduler: string;
    p99: number;
    throughput: number;
    cpuSpread: number;
    lowLatencyShare: number;
  };
}

/**
 * Placement quality and throughput of the stack's scheduler beside the default scheduler on the same
 * topology. Verdict: it places latency-aware better than the default (the track's point); throughput
 * and p99 ratios are reported and scored by the rubric, not judged here (they depend on the machine).
 */
export function checkSchedulingBench(b: BenchSummary): CheckResult {
  const e = b.edge;
  const d = b.baseline;
  const ratio = (x: number, y: number): string => (y > 0 ? (x / y).toFixed(2) : '-');
  const source = `check:scheduling-bench (${b.nodes} nodes, ${b.pods} pods, ${b.rounds} round(s))`;
  // A scheduler that binds nothing has a perfectly even (idle) cluster: that earns nothing.
  if (!(e.throughput > 0))
    return notProvided(
      'scheduling-bench',
      `Scheduling benchmark: ${e.scheduler} beside ${d.scheduler}`,
      `${e.scheduler} bound no pod in the benchmark`,
      { evidence: { ...b } },
    );
  return {
    id: 'scheduling-bench',
    title: `Scheduling benchmark: ${e.scheduler} beside ${d.scheduler}`,
    status: e.lowLatencyShare > d.lowLatencyShare ? 'passed' : 'failed',
    summary:
      `on the lowest-latency node ${(e.lowLatencyShare * 100).toFixed(0)}% vs ${(d.lowLatencyShare * 100).toFixed(0)}%; ` +
      `throughput ${e.throughput} vs ${d.throughput} pods/s (${ratio(e.throughput, d.throughput)}×); ` +
      `p99 ${e.p99} vs ${d.p99} ms (${ratio(e.p99, d.p99)}×); CPU spread ${e.cpuSpread.toFixed(3)} vs ${d.cpuSpread.toFixed(3)}`,
    metrics: {
      'scheduling.throughput-pods-per-s': { value: e.throughput, unit: 'pods/s', source },
      'scheduling.cpu-spread': { value: e.cpuSpread, unit: 'stddev of node CPU utilisation', source },
      'scheduling.low-latency-share': { value: e.lowLatencyShare, unit: 'ratio', source },
    },
    evidence: { ...b },
  };
}
