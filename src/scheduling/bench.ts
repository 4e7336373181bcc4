import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { CleanupHandle, CleanupRegistry } from '../core/cleanup/registry.ts';
import { abortReason, deadline, sleep } from '../core/deadline.ts';
import { TimeoutError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { startControlPlane, type StartedControlPlane } from '../control-plane/control-plane.ts';
import { kubeBinary } from '../control-plane/tools.ts';
import { ObjectStore, nowMs } from '../targets/kube/object-store.ts';
import { isPodReady, quantiles, type Quantiles } from '../targets/kube/pod-latency.ts';
import type { Metrics } from '../scoring/types.ts';
import {
  baselineSchedulerConfig,
  defaultClientLimits,
  edgeSchedulerConfig,
  sharedSchedulerConfig,
} from './config.ts';
import { PodCreator } from './pod-creator.ts';
import {
  breakdown,
  captureCpuProfile,
  readPluginExtensionPoints,
  readSchedulerMetrics,
  type SchedulerBreakdown,
  type SchedulerCounters,
} from './scheduler-metrics.ts';
import { boundAt, PodTracker, type PodTimes } from './pod-tracker.ts';
import {
  BASELINE_SCHEDULER_NAME,
  CPU_LOAD,
  DATA_SOURCE_LABEL,
  EDGE_SCHEDULER_NAME,
  NEEDS_CLOUD_LABEL,
} from './keys.ts';
import { placementQuality, type Placement, type PlacementQuality } from './quality.ts';
import { startMigrator, startScheduler, type StartedProcess } from './scheduler-process.ts';
import { edgeSchedulerBinary } from './tools.ts';
import { benchTopology, nodeAnnotations, nodeSpecs, type Topology } from './topology.ts';

const log = logger('bench-scheduling');

export interface SchedulingBenchOptions {
  nodes: number;
  pods: number;
  registry: CleanupRegistry;
  /** Run dir (cluster, configs, logs); a temp dir removed afterwards when absent. */
  dir?: string;
  /** Client rate limits for both schedulers (default: kube-scheduler's own, qps 50 / burst 100). */
  qps?: number;
  burst?: number;
  /** Measured rounds per scheduler, alternating default, edge, default, edge … (default 3). */
  rounds?: number;
  /**
   * Arrival rate of the paced (latency) phase, pods/s, the same for both schedulers (default
   * 0.8 × qps, at most 100: below the binding rate the client limit allows, so latency is the
   * scheduler's own and not the queue behind its rate limiter).
   */
  arrivalRate?: number;
  /** Pods of the paced phase per round (default: min(pods, max(1000, pods / 10))). */
  pacedPods?: number;
  /** Pod creations in flight. */
  concurrency?: number;
  /** Overload-migration trials (0 = skip). */
  migrationTrials?: number;
  /**
   * false: a control run — the edge-scheduler binary with the default plugins only (its profile
   * otherwise unchanged), to tell what the binary costs from what the plugins cost.
   */
  edgePlugins?: boolean;
  /**
   * Write a CPU profile (pprof) of each scheduler over the paced phase of its first measured
   * round into this directory: `<scheduler>.cpu.pprof`.
   */
  profileDir?: string;
  /**
   * Write the first measured round of each scheduler as a trace into this directory,
   * `<scheduler>.trace.json` (the topology, the pods in creation order and where each was bound):
   * the recorded runs a placement policy can be trained and replayed on offline.
   */
  traceDir?: string;
  seed?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/** One phase of a round: its pods' creation → binding latency and the binding rate. */
export interface PhaseResult {
  pods: number;
  /** Target arrival rate, pods/s; absent: as fast as `concurrency` creations in flight allow. */
  rate?: number;
  /** Achieved arrival rate: pods / (first send → last send). */
  arrivalPerSecond: number;
  /** Pods whose binding time is their Scheduled event's (the rest: the watch's arrival time). */
  boundFromEvents: number;
  /** Create request sent → bound (Scheduled event time), ms. */
  latency: Quantiles;
  /** The scheduler's own means over the phase (its /metrics), when they could be read. */
  scheduler?: SchedulerBreakdown;
  /** The three slowest pods: latency and when (ms after the phase's first send) each was sent. */
  slowest: { pod: string; ms: number; sentAtMs: number }[];
  /** Pods bound per second from the first creation to the last binding. */
  throughput: number;
  makespanMs: number;
}

/**
 * One round: a fresh namespace, a paced phase (pods arrive at a fixed rate — the latency
 * figures) then a burst phase (`pods` pods created as fast as the creator can — the throughput
 * figures); placement quality over all of the round's pods in binding order.
 */
export interface RoundResult {
  /** 1-based; 0 = the warm-up round, not counted. */
  round: number;
  scheduler: string;
  namespace: string;
  paced: PhaseResult;
  burst: PhaseResult;
  quality: Omit<PlacementQuality, 'utilisation'>;
}

/** A scheduler's figures: the median of its measured rounds. */
export interface SchedulerSummary {
  scheduler: string;
  rounds: number;
  p50: number;
  p99: number;
  /** p99 of the burst phase (queueing behind the scheduler and its client limit included). */
  burstP99: number;
  throughput: number;
  cpuSpread: number;
  lowLatencyShare: number;
  meanLatencyMs: number;
  /** Worst round. */
  onDownUplink: number;
  /** Per-round p99 and throughput, for the spread. */
  p99s: number[];
  throughputs: number[];
}

export interface MigrationResult {
  trials: number;
  /** Overload signal → each evicted pod's replacement Ready on another node, ms. */
  toReady: Quantiles;
  evicted: number;
  /** "from → to" per replacement pod. */
  moves: string[];
  /** Replacements that were placed back onto the node they were evicted from (want 0). */
  backOnOverloaded: number;
}

export interface SchedulingBenchResult {
  nodes: number;
  pods: number;
  pacedPods: number;
  arrivalRate: number;
  qps: number;
  burst: number;
  concurrency: number;
  /** What both scheduler configurations share (besides the client limits). */
  sharedConfig: Record<string, unknown>;
  clusterReadyMs: number;
  topology: { sources: number; busyNodes: number; uplinkDown: string[] };
  warmup: RoundResult[];
  /** Measured rounds in the order they ran (default, edge, default, edge …). */
  rounds: RoundResult[];
  baseline: SchedulerSummary;
  edge: SchedulerSummary;
  /** Per scheduler: the extension points each plugin ran at ("Plugin/Point", from its /metrics). */
  pluginPoints: Record<string, string[]>;
  migration?: MigrationResult;
}

const POD_CPU_MILLI = 100;
const POD_MEMORY_BYTES = 64 * 2 ** 20;

function benchPod(name: string, i: number, t: Topology, schedulerName: string): V1Pod {
  const source = t.sources[i % t.sources.length]!;
  const needsCloud = i % 2 === 0;
  return {
    metadata: {
      name,
      labels: { app: 'bench', [DATA_SOURCE_LABEL]: source, [NEEDS_CLOUD_LABEL]: String(needsCloud) },
    },
    spec: {
      schedulerName,
      containers: [
        {
          name: 'work',
          image: 'registry.invalid/edgechaos/bench:1',
          resources: { requests: { cpu: `${POD_CPU_MILLI}m`, memory: `${POD_MEMORY_BYTES}` } },
        },
      ],
      terminationGracePeriodSeconds: 0,
    },
  };
}

/** A recorded round: what a placement policy needs to be trained or replayed offline. */
export interface SchedulingTrace {
  kind: 'scheduling-trace';
  version: 1;
  scheduler: string;
  capacity: Topology['capacity'];
  nodes: Topology['nodes'];
  /** In creation order. */
  pods: { name: string; source: string; needsCloud: boolean; milliCPU: number; memory: number }[];
  /** In binding order. */
  placements: { pod: string; node: string }[];
}

function writeTrace(
  file: string,
  t: Topology,
  scheduler: string,
  pods: V1Pod[],
  placements: Placement[],
): void {
  const trace: SchedulingTrace = {
    kind: 'scheduling-trace',
    version: 1,
    scheduler,
    capacity: t.capacity,
    nodes: t.nodes,
    pods: pods.map((p) => {
      const labels = p.metadata!.labels!;
      return {
        name: p.metadata!.name!,
        source: labels[DATA_SOURCE_LABEL]!,
        needsCloud: labels[NEEDS_CLOUD_LABEL] === 'true',
        milliCPU: POD_CPU_MILLI,
        memory: POD_MEMORY_BYTES,
      };
    }),
    placements: placements.map((x) => ({ pod: x.pod, node: x.node })),
  };
  writeFileSync(file, JSON.stringify(trace) + '\n');
}

/** Run `fn` over `items` with at most `n` in flight. */
async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Create `specs` with at most `concurrency` calls in flight; with `rate`, pod i is not sent
 * before start + i/rate (open loop: the schedule does not wait for the scheduler). Returns the
 * first and last send times.
 */
async function createPods(
  creator: PodCreator,
  tracker: PodTracker,
  specs: readonly V1Pod[],
  concurrency: number,
  rate: number | undefined,
  signal: AbortSignal,
): Promise<{ first: number; last: number }> {
  const bodies = PodCreator.serialise(specs);
  const start = nowMs();
  let first = Infinity;
  let last = 0;
  let inFlight = 0;
  let failure: unknown;
  const slots: (() => void)[] = [];
  const calls: Promise<void>[] = [];
  for (let i = 0; i < specs.length && failure === undefined; i++) {
    if (rate !== undefined) {
      const wait = start + (i * 1000) / rate - nowMs();
      if (wait > 0) await sleep(wait, signal);
    }
    while (inFlight >= concurrency) await new Promise<void>((r) => slots.push(r));
    if (signal.aborted) throw abortReason(signal);
    inFlight++;
    const name = specs[i]!.metadata!.name!;
    calls.push(
      creator
        .create(tracker.namespace, bodies[i]!, (at) => {
          tracker.sent(name, at);
          first = Math.min(first, at);
          last = Math.max(last, at);
        })
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => {
          inFlight--;
          slots.shift()?.();
        }),
    );
  }
  await Promise.all(calls);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
  return { first, last };
}

async function ensureNamespace(api: CoreV1Api, name: string): Promise<void> {
  await api.createNamespace({ body: { metadata: { name } } }).catch((e: unknown) => {
    if ((e as { code?: number }).code !== 409) throw e;
  });
}

function phaseResult(
  times: PodTimes[],
  rate: number | undefined,
  span: { first: number; last: number },
): PhaseResult {
  const created = Math.min(...times.map((x) => x.created));
  const lastBound = Math.max(...times.map((x) => boundAt(x) ?? 0));
  const arrivalMs = span.last - span.first;
  return {
    pods: times.length,
    ...(rate !== undefined ? { rate } : {}),
    arrivalPerSecond: arrivalMs > 0 ? round1(((times.length - 1) * 1000) / arrivalMs) : 0,
    boundFromEvents: times.filter((x) => x.eventBound !== undefined).length,
    latency: quantiles(times.map((x) => boundAt(x)! - x.created)),
    slowest: times
      .map((x) => ({
        pod: x.name,
        ms: round1(boundAt(x)! - x.created),
        sentAtMs: Math.round(x.created - created),
      }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3),
    throughput: lastBound > created ? round1((times.length * 1000) / (lastBound - created)) : 0,
    makespanMs: Math.round(lastBound - created),
  };
}

interface RoundPlan {
  round: number;
  scheduler: string;
  namespace: string;
  pacedPods: number;
  burstPods: number;
  rate: number;
  concurrency: number;
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

/**
 * One round in a fresh namespace: the paced phase, then the burst phase, both waited until every
 * pod is bound; then every pod is deleted (and waited for). The empty namespace stays until the
 * throw-away cluster goes: deleting it set off the namespace controller's sweep (a discovery
 * and a list per resource type) at the start of the next round.
 */
async function schedulingRound(
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
    const bound = async (n: number, phase: string): Promise<void> => {
      try {
        await tracker.until(() => tracker.boundCount >= n, signal);
      } catch (err) {
        if (err instanceof TimeoutError)
          throw new TimeoutError(
            `${err.message}: ${scheduler} round ${plan.round} (${phase}) bound ${tracker.boundCount}/${n} pods`,
          );
        throw err;
      }
    };
    // Scheduled events are written after the binding (through the scheduler's own rate-limited
    // event client): give the last ones a moment, as long as they keep coming.
    const events = async (n: number): Promise<void> => {
      for (let seen = -1; tracker.eventCount < n && tracker.eventCount > seen;) {
        seen = tracker.eventCount;
        await tracker.until(() => tracker.eventCount >= n, signal, 3000);
      }
    };
    const m = plan.metrics;
    const read = async (): Promise<SchedulerCounters | undefined> =>
      m
        ? readSchedulerMetrics(m.port, m.token, scheduler).catch((e: unknown) => {
            log.warn(`${scheduler} /metrics: ${String(e)}`);
            return undefined;
          })
        : undefined;
    const c0 = await read();
    const profiling =
      m && plan.profileFile
        ? captureCpuProfile(
            m.port,
            m.token,
            Math.max(1, Math.ceil(paced.length / plan.rate)),
            plan.profileFile,
          ).catch((e: unknown) => log.warn(`${scheduler} CPU profile: ${String(e)}`))
        : undefined;
    const pacedSpan = await createPods(creator, tracker, paced, plan.concurrency, plan.rate, signal);
    await bound(paced.length, 'paced');
    await profiling;
    await events(paced.length);
    const c1 = await read();
    const burstSpan = await createPods(creator, tracker, burst, plan.concurrency, undefined, signal);
    await bound(paced.length + burst.length, 'burst');
    await events(paced.length + burst.length);
    const c2 = await read();

    const times = (specs: V1Pod[]): PodTimes[] => specs.map((s) => tracker.pods.get(s.metadata!.name!)!);
    const specByName = new Map([...paced, ...burst].map((s) => [s.metadata!.name!, s]));
    const placements: Placement[] = [...tracker.pods.values()]
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
    const { utilisation: _u, ...quality } = placementQuality(t, placements);
    if (plan.traceFile) writeTrace(plan.traceFile, t, scheduler, [...paced, ...burst], placements);
    const result: RoundResult = {
      round: plan.round,
      scheduler,
      namespace,
      paced: {
        ...phaseResult(times(paced), plan.rate, pacedSpan),
        ...(c0 && c1 ? { scheduler: breakdown(c0, c1) } : {}),
      },
      burst: {
        ...phaseResult(times(burst), undefined, burstSpan),
        ...(c1 && c2 ? { scheduler: breakdown(c1, c2) } : {}),
      },
      quality,
    };
    const total = tracker.pods.size;
    plan.onResult?.(result);
    // One DELETE for the collection; the API server deletes one pod after another and its 60 s
    // request timeout ends the call (504, or the connection closed) long before 11,000 pods are
    // gone — and the deletion with it. Wait for the DELETED events; ask again after each minute
    // without all of them.
    for (;;) {
      await api.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch((e: unknown) => {
        log.info(`delete the pods of ${namespace}: ${String(e).slice(0, 200)}; waiting, then asking again`);
      });
      if (await tracker.until(() => tracker.deletedCount >= total, signal, 60_000)) break;
      // A watch that ended between two events misses deletions: ask the API server itself.
      const left = (await api.listNamespacedPod({ namespace, limit: 1 })).items.length;
      if (left === 0) {
        log.info(
          `${namespace}: every pod is gone (the watch saw ${tracker.deletedCount}/${total} deletions)`,
        );
        break;
      }
      log.info(`${namespace}: ${tracker.deletedCount}/${total} pods deleted; asking again`);
    }
    await sleep(plan.settleMs, signal);
    return result;
  } finally {
    tracker.stop();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
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
    p99s: rs.map((r) => r.paced.latency.p99),
    throughputs: rs.map((r) => r.burst.throughput),
  };
}

/**
 * Overload migration: a Deployment placed by the edge scheduler, then the node holding most of
 * its pods reports a CPU load of 0.97; `edge-scheduler migrate` taints the node and evicts them,
 * and the edge scheduler places the replacements. Time from the overload signal to each
 * replacement Ready elsewhere; a replacement placed back onto the overloaded node is counted.
 */
async function migrationTrials(
  cp: StartedControlPlane,
  t: Topology,
  trials: number,
  signal: AbortSignal,
): Promise<MigrationResult> {
  const kc = cp.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const namespace = 'bench-migrate';
  await ensureNamespace(core, namespace);
  const replicas = 6;
  const labels = { app: 'migrate', [DATA_SOURCE_LABEL]: t.sources[0]! };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'work' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'migrate' } },
        template: {
          metadata: { labels },
          spec: {
            schedulerName: EDGE_SCHEDULER_NAME,
            terminationGracePeriodSeconds: 0,
            containers: [
              {
                name: 'work',
                image: 'registry.invalid/edgechaos/bench:1',
                resources: { requests: { cpu: '400m', memory: '64Mi' } },
              },
            ],
          },
        },
      },
    },
  });
  const store = await ObjectStore.start<V1Pod>(kc, {
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespace,
  });
  const samples: number[] = [];
  const moves: string[] = [];
  let evicted = 0;
  let backOnOverloaded = 0;
  const patchNode = (name: string, ann: Record<string, string>): Promise<unknown> =>
    core.patchNode(
      { name, body: { metadata: { annotations: ann } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
  const live = (pods: V1Pod[]): V1Pod[] => pods.filter((p) => !p.metadata?.deletionTimestamp);
  try {
    for (let trial = 0; trial < trials; trial++) {
      await store.waitFor((pods) => live(pods).length === replicas && live(pods).every(isPodReady), signal);
      const perNode = new Map<string, string[]>();
      for (const p of live([...store.objects.values()])) {
        const n = p.spec!.nodeName!;
        perNode.set(n, [...(perNode.get(n) ?? []), p.metadata!.uid!]);
      }
      const [victimNode, victims] = [...perNode.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
      const before = new Set(live([...store.objects.values()]).map((p) => p.metadata!.uid!));
      const original = t.nodes.find((n) => n.name === victimNode)!;
      const t0 = nowMs();
      await patchNode(victimNode, { [CPU_LOAD]: '0.97' });
      // Done when none of the victims is left and every replica is Ready again.
      await store.waitFor((pods) => {
        const l = live(pods);
        return (
          l.length === replicas && l.every(isPodReady) && !l.some((p) => victims.includes(p.metadata!.uid!))
        );
      }, signal);
      for (const p of live([...store.objects.values()])) {
        const uid = p.metadata!.uid!;
        if (before.has(uid)) continue;
        const ready = store.events.find((e) => e.object.metadata?.uid === uid && isPodReady(e.object));
        moves.push(`${victimNode} → ${p.spec?.nodeName ?? '?'}`);
        if (p.spec?.nodeName === victimNode) backOnOverloaded++;
        else if (ready) samples.push(ready.at - t0);
      }
      evicted += victims.length;
      await patchNode(victimNode, { [CPU_LOAD]: String(original.cpuLoad) });
      log.info(`migration trial ${trial + 1}: ${victims.length} pod(s) moved off ${victimNode}`);
    }
  } finally {
    store.stop();
  }
  return { trials, toReady: quantiles(samples), evicted, moves, backOnOverloaded };
}

/**
 * Pods of a round's paced phase unless set: max(1000, pods / 10), at most pods. A p99 over 200
 * pods is the 2nd-worst sample: one ~100 ms stall of the machine (the 3 slowest pods of a round
 * were sent within 175 ms of each other) moved it by 1.5×; over 1,000 it is the 10th-worst.
 */
export function defaultPacedPods(pods: number): number {
  return Math.min(pods, Math.max(1000, Math.round(pods / 10)));
}

/**
 * Why a round's pods cannot all be bound (paced and burst pods stay until the round ends; every
 * node has the same pod slots), or undefined when they fit.
 */
export function podsDoNotFit(nodes: number, pods: number, pacedPods: number): string | undefined {
  const perNode = benchTopology(2).capacity.pods;
  if (pacedPods + pods <= nodes * perNode) return undefined;
  return `${pods} pods (+ ${pacedPods} paced) do not fit on ${nodes} nodes (${nodes * perNode} pod slots, ${perNode} per node): fewer pods or more nodes`;
}

/** The whole benchmark: one control plane, the default scheduler and the edge scheduler side by side. */
export async function runSchedulingBench(o: SchedulingBenchOptions): Promise<SchedulingBenchResult> {
  const edgeBin = edgeSchedulerBinary();
  const kubeScheduler = kubeBinary('hyperkube');
  const qps = o.qps ?? defaultClientLimits.qps;
  const burst = o.burst ?? defaultClientLimits.burst;
  const progress = o.onProgress ?? ((l: string) => log.info(l));
  const topology = benchTopology(o.nodes, o.seed ?? 1);
  const concurrency = o.concurrency ?? 16;
  const roundCount = o.rounds ?? 3;
  const arrivalRate = o.arrivalRate ?? Math.min(100, Math.round(0.8 * qps));
  const pacedPods = o.pacedPods ?? defaultPacedPods(o.pods);
  const tooMany = podsDoNotFit(o.nodes, o.pods, pacedPods);
  if (tooMany) throw new RangeError(tooMany);
  // Every round starts with the scheduler's client token bucket full (it refills at qps).
  const settleMs = Math.max(1000, Math.ceil((1000 * burst) / qps));
  // Default deadline: twice what the client limit alone implies for every round, at least 30 min.
  const expectedS = 2 * (roundCount + 1) * (o.pods / qps + pacedPods / arrivalRate + 10) + o.nodes;
  const signal = deadline(
    o.timeoutMs ?? Math.max(30 * 60_000, 2000 * expectedS),
    'scheduling benchmark',
    o.signal,
  );

  let ownDir: CleanupHandle | undefined;
  let dir = o.dir;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'edgechaos-bench-sched-'));
    ownDir = o.registry.add('dir', `scheduling bench dir ${dir}`, { path: dir });
  }
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const started: StartedProcess[] = [];
  let cp: StartedControlPlane | undefined;
  let creator: PodCreator | undefined;
  try {
    progress(`starting the control plane with ${o.nodes} kwok nodes`);
    cp = await startControlPlane({
      nodes: nodeSpecs(topology),
      registry: o.registry,
      dir: join(dir, 'cluster'),
      // A real cluster's 40 s node leases instead of the 8 s the node-loss tests need: kwok
      // renews each lease every quarter of it, 500 writes/s at 1,000 nodes with 8 s — apiserver
      // and etcd CPU taken from the schedulers under test. Nothing here waits for a lost node.
      timings: { nodeLeaseSeconds: 40, nodeMonitorGraceSeconds: 50 },
      // 100 nodes are Ready in ~25 s here; allow 0.6 s a node beyond the default 3 min.
      timeoutMs: Math.max(180_000, 600 * o.nodes),
      signal,
    });
    const kc = cp.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    await pool(topology.nodes, 8, (n) =>
      core.patchNode(
        { name: n.name, body: { metadata: { annotations: nodeAnnotations(n) } } },
        setHeaderOptions('Content-Type', 'application/merge-patch+json'),
      ),
    );
    const kubeconfig = cp.kubeconfigPath('kube-scheduler');
    const limits = { kubeconfig, qps, burst };
    progress(
      `starting ${BASELINE_SCHEDULER_NAME} (stock kube-scheduler) and ${EDGE_SCHEDULER_NAME} (qps ${qps}, burst ${burst})`,
    );
    const [baseSched, edgeSched] = await Promise.all([
      startScheduler({
        name: BASELINE_SCHEDULER_NAME,
        argv0: [kubeScheduler, 'kube-scheduler'],
        config: baselineSchedulerConfig(limits),
        kubeconfig,
        dir,
        registry: o.registry,
        signal,
      }),
      startScheduler({
        name: EDGE_SCHEDULER_NAME,
        argv0: [edgeBin],
        config:
          o.edgePlugins === false
            ? { ...sharedSchedulerConfig(limits), profiles: [{ schedulerName: EDGE_SCHEDULER_NAME }] }
            : edgeSchedulerConfig(limits),
        kubeconfig,
        dir,
        registry: o.registry,
        signal,
      }),
    ]);
    started.push(baseSched, edgeSched);

    const schedulers = [BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME];
    creator = await PodCreator.open(kc, concurrency);
    const token = kc.getCurrentUser()?.token;
    const plan = (round: number, scheduler: string, pacedPods: number, burstPods: number): RoundPlan => ({
      round,
      scheduler,
      namespace: `bench-r${round}-${scheduler === EDGE_SCHEDULER_NAME ? 'edge' : 'default'}`,
      pacedPods,
      burstPods,
      rate: arrivalRate,
      concurrency,
      settleMs,
      ...(token
        ? { metrics: { port: (scheduler === EDGE_SCHEDULER_NAME ? edgeSched : baseSched).port!, token } }
        : {}),
    });
    // Warm-up: the first pods a scheduler binds pay for lazy start-up (informer caches filling,
    // the scheduling queue's goroutines, connection set-up, Go heap growth): one small round each.
    const warmup: RoundResult[] = [];
    const warm = Math.min(50, o.pods);
    for (const s of schedulers) {
      progress(`warm-up: ${s}, ${Math.min(warm, pacedPods)} paced + ${warm} burst pods`);
      warmup.push(
        await schedulingRound(kc, creator, topology, plan(0, s, Math.min(warm, pacedPods), warm), signal),
      );
    }
    const rounds: RoundResult[] = [];
    for (let i = 1; i <= roundCount; i++) {
      for (const s of schedulers) {
        progress(
          `round ${i}/${roundCount}: ${s}, ${pacedPods} pods at ${arrivalRate}/s, then ${o.pods} pods at once`,
        );
        const r = await schedulingRound(
          kc,
          creator,
          topology,
          {
            ...plan(i, s, pacedPods, o.pods),
            ...(o.profileDir && i === 1 ? { profileFile: join(o.profileDir, `${s}.cpu.pprof`) } : {}),
            ...(o.traceDir && i === 1 ? { traceFile: join(o.traceDir, `${s}.trace.json`) } : {}),
            onResult: (x) =>
              progress(
                `  p50 ${x.paced.latency.p50} ms, p99 ${x.paced.latency.p99} ms (arrivals ${x.paced.arrivalPerSecond}/s); burst ${x.burst.throughput} pods/s, p99 ${x.burst.latency.p99} ms; on lowest-latency node ${x.quality.lowLatencyShare}, CPU sd ${x.quality.cpuSpread}; scheduler: ${JSON.stringify(x.paced.scheduler ?? {})}`,
              ),
          },
          signal,
        );
        rounds.push(r);
      }
    }

    const pluginPoints: Record<string, string[]> = {};
    for (const [name, p] of [
      [BASELINE_SCHEDULER_NAME, baseSched],
      [EDGE_SCHEDULER_NAME, edgeSched],
    ] as const)
      pluginPoints[name] = token
        ? await readPluginExtensionPoints(p.port!, token).catch((e: unknown) => {
            log.warn(`${name} /metrics: ${String(e)}`);
            return [];
          })
        : [];

    let migration: MigrationResult | undefined;
    if ((o.migrationTrials ?? 1) > 0) {
      progress(`overload migration: ${o.migrationTrials ?? 1} trial(s)`);
      started.push(
        await startMigrator({
          bin: edgeBin,
          kubeconfig,
          namespace: 'bench-migrate',
          threshold: 0.85,
          target: 0.5,
          sustainMs: 1000,
          cooldownMs: 3000,
          maxPerRound: 10,
          dir,
          registry: o.registry,
        }),
      );
      migration = await migrationTrials(cp, topology, o.migrationTrials ?? 1, signal);
    }
    return {
      nodes: o.nodes,
      pods: o.pods,
      pacedPods,
      arrivalRate,
      qps,
      burst,
      concurrency,
      sharedConfig: sharedSchedulerConfig(limits),
      clusterReadyMs: cp.readyMs,
      topology: {
        sources: topology.sources.length,
        busyNodes: topology.nodes.filter((n) => n.cpuLoad >= 0.5).length,
        uplinkDown: topology.nodes.filter((n) => n.uplinkDown).map((n) => n.name),
      },
      warmup,
      rounds,
      baseline: summarise(BASELINE_SCHEDULER_NAME, rounds),
      pluginPoints,
      edge: summarise(EDGE_SCHEDULER_NAME, rounds),
      ...(migration ? { migration } : {}),
    };
  } finally {
    creator?.close();
    for (const p of started.reverse())
      await p.stop().catch((e: unknown) => log.error(`stop ${p.name}: ${String(e)}`));
    await cp?.stop().catch((e: unknown) => log.error(`stop control plane: ${String(e)}`));
    await ownDir?.revert().catch((e: unknown) => log.error(`remove ${dir}: ${String(e)}`));
  }
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
