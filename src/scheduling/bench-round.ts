import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { sleep } from '../core/deadline.ts';
import { TimeoutError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { quantiles } from '../targets/kube/pod-latency.ts';
import { limitingComponent } from './bench-limits.ts';
import { benchPod, createPods, ensureNamespace, POD_CPU_MILLI, writeTrace } from './bench-pods.ts';
import { round1 } from './bench-summary.ts';
import type { PhaseResult, RoundResult } from './bench-types.ts';
import { DATA_SOURCE_LABEL, NEEDS_CLOUD_LABEL } from './keys.ts';
import type { PodCreator } from './pod-creator.ts';
import { boundAt, PodTracker, type PodTimes } from './pod-tracker.ts';
import { placementQuality, type Placement } from './quality.ts';
import {
  breakdown,
  captureCpuProfile,
  readSchedulerMetrics,
  type SchedulerCounters,
} from './scheduler-metrics.ts';
import type { Topology } from './topology.ts';
import {
  checkedLatencies,
  combineOffsets,
  latencyResolutionMs,
  measureClockOffset,
  type ClockOffset,
} from './clock.ts';

const log = logger('bench-scheduling');

/**
 * Pure: a phase's figures from its pods' times. Event times are moved onto the harness's clock
 * with `clock` (default: aligned); a latency below the resolution is reported as the resolution
 * and counted, one impossibly negative is an error (clock.ts).
 */
export function phaseResult(
  times: PodTimes[],
  rate: number | undefined,
  span: { first: number; last: number },
  clock: ClockOffset = { offsetMs: 0, uncertaintyMs: 0 },
): PhaseResult {
  const bound = (x: PodTimes): number => boundAt(x, clock.offsetMs)!;
  const created = Math.min(...times.map((x) => x.created));
  const lastBound = Math.max(...times.map((x) => bound(x)));
  const arrivalMs = span.last - span.first;
  const resolutionMs = latencyResolutionMs(clock);
  const checked = checkedLatencies(
    times.map((x) => ({ pod: x.name, ms: bound(x) - x.created })),
    resolutionMs,
  );
  return {
    pods: times.length,
    ...(rate !== undefined ? { rate } : {}),
    arrivalPerSecond: arrivalMs > 0 ? round1(((times.length - 1) * 1000) / arrivalMs) : 0,
    boundFromEvents: times.filter((x) => x.eventBound !== undefined).length,
    latency: quantiles(checked.values),
    clock: {
      offsetMs: Math.round(clock.offsetMs * 1000) / 1000,
      uncertaintyMs: Math.round(clock.uncertaintyMs * 1000) / 1000,
      resolutionMs,
    },
    subResolution: checked.subResolution,
    slowest: times
      .map((x, i) => ({
        pod: x.name,
        ms: round1(checked.values[i]!),
        sentAtMs: Math.round(x.created - created),
      }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3),
    throughput: lastBound > created ? round1((times.length * 1000) / (lastBound - created)) : 0,
    makespanMs: Math.round(lastBound - created),
  };
}

export interface RoundPlan {
  round: number;
  scheduler: string;
  namespace: string;
  pacedPods: number;
  burstPods: number;
  rate: number;
  concurrency: number;
  /** The schedulers' client qps (to judge what limited the burst). */
  qps: number;
  /** Pause after the pods are gone: the scheduler's client token bucket refills (burst/qps). */
  settleMs: number;
  /** Where to read the scheduler's /metrics. */
  metrics?: { port: number; token: string };
  /** Record a CPU profile of the scheduler over the paced phase into this file (needs `metrics`). */
  profileFile?: string;
  /** Write the round's trace (see SchedulingBenchOptions.traceDir) into this file. */
  traceFile?: string;
  /** Called with the figures before the round's pods are deleted (a long deletion can fail). */
  onResult?: (r: RoundResult) => void;
}

/** Wait until `n` pods are bound; a timeout names the round and the phase. */
async function waitBound(
  tracker: PodTracker,
  n: number,
  plan: RoundPlan,
  phase: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    await tracker.until(() => tracker.boundCount >= n, signal);
  } catch (err) {
    if (err instanceof TimeoutError)
      throw new TimeoutError(
        `${err.message}: ${plan.scheduler} round ${plan.round} (${phase}) bound ${tracker.boundCount}/${n} pods`,
      );
    throw err;
  }
}

/**
 * Scheduled events are written after the binding (through the scheduler's own rate-limited
 * event client): give the last ones a moment, as long as they keep coming.
 */
async function waitEvents(tracker: PodTracker, n: number, signal: AbortSignal): Promise<void> {
  for (let seen = -1; tracker.eventCount < n && tracker.eventCount > seen;) {
    seen = tracker.eventCount;
    await tracker.until(() => tracker.eventCount >= n, signal, 3000);
  }
}

/** The scheduler's counters now, or undefined (logged) when its /metrics cannot be read. */
async function readCounters(plan: RoundPlan): Promise<SchedulerCounters | undefined> {
  const m = plan.metrics;
  if (!m) return undefined;
  return readSchedulerMetrics(m.port, m.token, plan.scheduler).catch((e: unknown) => {
    log.warn(`${plan.scheduler} /metrics: ${String(e)}`);
    return undefined;
  });
}

/** A CPU profile of the scheduler over `pods` paced arrivals, when the plan asks for one. */
function profilePaced(plan: RoundPlan, pods: number): Promise<void> | undefined {
  const m = plan.metrics;
  if (!m || !plan.profileFile) return undefined;
  const seconds = Math.max(1, Math.ceil(pods / plan.rate));
  return captureCpuProfile(m.port, m.token, seconds, plan.profileFile).catch((e: unknown) =>
    log.warn(`${plan.scheduler} CPU profile: ${String(e)}`),
  );
}

/** Every pod of the round with its node, in binding order. */
function placementsOf(tracker: PodTracker, specs: readonly V1Pod[]): Placement[] {
  const specByName = new Map(specs.map((s) => [s.metadata!.name!, s]));
  return [...tracker.pods.values()]
    .sort((a, b) => a.watchedBound! - b.watchedBound!)
    .map((x) => {
      const labels = specByName.get(x.name)!.metadata!.labels!;
      return {
        pod: x.name,
        node: x.node!,
        source: labels[DATA_SOURCE_LABEL],
        needsCloud: labels[NEEDS_CLOUD_LABEL] === 'true',
        milliCPU: POD_CPU_MILLI,
      };
    });
}

/**
 * One DELETE for the collection; the API server deletes one pod after another and its 60 s
 * request timeout ends the call (504, or the connection closed) long before 11,000 pods are
 * gone — and the deletion with it. Wait for the DELETED events; ask again after each minute
 * without all of them.
 */
async function deleteRoundPods(
  api: CoreV1Api,
  tracker: PodTracker,
  namespace: string,
  signal: AbortSignal,
): Promise<void> {
  const total = tracker.pods.size;
  for (;;) {
    await api.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch((e: unknown) => {
      log.info(`delete the pods of ${namespace}: ${String(e).slice(0, 200)}; waiting, then asking again`);
    });
    if (await tracker.until(() => tracker.deletedCount >= total, signal, 60_000)) return;
    // A watch that ended between two events misses deletions: ask the API server itself.
    const left = (await api.listNamespacedPod({ namespace, limit: 1 })).items.length;
    if (left === 0) {
      log.info(`${namespace}: every pod is gone (the watch saw ${tracker.deletedCount}/${total} deletions)`);
      return;
    }
    log.info(`${namespace}: ${tracker.deletedCount}/${total} pods deleted; asking again`);
  }
}

/**
 * One round in a fresh namespace: the paced phase, then the burst phase, both waited until every
 * pod is bound; then every pod is deleted (and waited for). The empty namespace stays until the
 * throw-away cluster goes: deleting it set off the namespace controller's sweep (a discovery
 * and a list per resource type) at the start of the next round.
 */
export async function schedulingRound(
  kc: KubeConfig,
  creator: PodCreator,
  t: Topology,
  plan: RoundPlan,
  signal: AbortSignal,
): Promise<RoundResult> {
  const api = kc.makeApiClient(CoreV1Api);
  const { namespace, scheduler } = plan;
  await ensureNamespace(api, namespace);
  const tracker = await PodTracker.start(kc, namespace);
  try {
    const paced = Array.from({ length: plan.pacedPods }, (_, i) => benchPod(`l-${i}`, i, t, scheduler));
    const burst = Array.from({ length: plan.burstPods }, (_, i) =>
      benchPod(`b-${i}`, plan.pacedPods + i, t, scheduler),
    );
    const clock0 = measureClockOffset();
    const c0 = await readCounters(plan);
    const profiling = profilePaced(plan, paced.length);
    const pacedSpan = await createPods(creator, tracker, paced, plan.concurrency, plan.rate, signal);
    await waitBound(tracker, paced.length, plan, 'paced', signal);
    await profiling;
    await waitEvents(tracker, paced.length, signal);
    const c1 = await readCounters(plan);
    const burstSpan = await createPods(creator, tracker, burst, plan.concurrency, undefined, signal);
    await waitBound(tracker, paced.length + burst.length, plan, 'burst', signal);
    await waitEvents(tracker, paced.length + burst.length, signal);
    const c2 = await readCounters(plan);
    const clock = combineOffsets(clock0, measureClockOffset());

    const times = (specs: V1Pod[]): PodTimes[] => specs.map((s) => tracker.pods.get(s.metadata!.name!)!);
    const placements = placementsOf(tracker, [...paced, ...burst]);
    const { utilisation: _u, ...quality } = placementQuality(t, placements);
    if (plan.traceFile) writeTrace(plan.traceFile, t, scheduler, [...paced, ...burst], placements);
    const result: RoundResult = {
      round: plan.round,
      scheduler,
      namespace,
      paced: {
        ...phaseResult(times(paced), plan.rate, pacedSpan, clock),
        ...(c0 && c1 ? { scheduler: breakdown(c0, c1) } : {}),
      },
      burst: {
        ...phaseResult(times(burst), undefined, burstSpan, clock),
        ...(c1 && c2 ? { scheduler: breakdown(c1, c2) } : {}),
      },
      quality,
    };
    result.burst.limitedBy = limitingComponent(result.burst, plan.qps, plan.concurrency);
    plan.onResult?.(result);
    await deleteRoundPods(api, tracker, namespace, signal);
    await sleep(plan.settleMs, signal);
    return result;
  } finally {
    tracker.stop();
  }
}
