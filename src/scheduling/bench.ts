import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { CleanupHandle, CleanupRegistry } from '../core/cleanup/registry.ts';
import { deadline } from '../core/deadline.ts';
import { TimeoutError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { startControlPlane, type StartedControlPlane } from '../kube/control-plane.ts';
import { kubeBinary } from '../kube/tools.ts';
import { ObjectStore, nowMs } from '../targets/kube/object-store.ts';
import {
  isPodReady,
  podLatency,
  podTimelines,
  quantiles,
  type PodLatency,
  type Quantiles,
} from '../targets/kube/pod-latency.ts';
import type { Metrics } from '../scoring/types.ts';
import { baselineSchedulerConfig, defaultClientLimits, edgeSchedulerConfig } from './config.ts';
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
  /** Pod creations in flight. */
  concurrency?: number;
  /** Overload-migration trials (0 = skip). */
  migrationTrials?: number;
  seed?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface SchedulerRun {
  scheduler: string;
  latency: PodLatency;
  quality: PlacementQuality;
  /** First pod created → last pod bound, ms. */
  makespanMs: number;
}

export interface MigrationResult {
  trials: number;
  /** Overload signal → each evicted pod's replacement Ready on another node, ms. */
  toReady: Quantiles;
  evicted: number;
  /** "from → to" per replacement pod. */
  moves: string[];
}

export interface SchedulingBenchResult {
  nodes: number;
  pods: number;
  qps: number;
  burst: number;
  clusterReadyMs: number;
  topology: { sources: number; busyNodes: number; uplinkDown: string[] };
  baseline: SchedulerRun;
  edge: SchedulerRun;
  migration?: MigrationResult;
}

const POD_CPU_MILLI = 100;

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
          resources: { requests: { cpu: `${POD_CPU_MILLI}m`, memory: '64Mi' } },
        },
      ],
      terminationGracePeriodSeconds: 0,
    },
  };
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

async function ensureNamespace(api: CoreV1Api, name: string): Promise<void> {
  await api.createNamespace({ body: { metadata: { name } } }).catch((e: unknown) => {
    if ((e as { code?: number }).code !== 409) throw e;
  });
}

/** Create `count` pods for one scheduler, wait until all are bound, measure, then delete them. */
async function schedulingRound(
  kc: KubeConfig,
  t: Topology,
  scheduler: string,
  namespace: string,
  count: number,
  concurrency: number,
  signal: AbortSignal,
): Promise<SchedulerRun> {
  const api = kc.makeApiClient(CoreV1Api);
  await ensureNamespace(api, namespace);
  const store = await ObjectStore.start<V1Pod>(kc, {
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespace,
  });
  try {
    const specs = Array.from({ length: count }, (_, i) => benchPod(`p-${i}`, i, t, scheduler));
    // Creation time: the earlier of the create call's response and the ADDED watch event (the
    // watch may deliver ADDED and the binding in one chunk when the event loop is busy creating).
    const createdAt = new Map<string, number>();
    await pool(specs, concurrency, async (body) => {
      await api.createNamespacedPod({ namespace, body });
      createdAt.set(body.metadata!.name!, nowMs());
    });
    try {
      await store.waitFor((pods) => pods.length === count && pods.every((p) => !!p.spec?.nodeName), signal);
    } catch (err) {
      const bound = [...store.objects.values()].filter((p) => p.spec?.nodeName).length;
      if (err instanceof TimeoutError)
        throw new TimeoutError(`${err.message}: ${scheduler} bound ${bound}/${count} pods`);
      throw err;
    }
    const timelines = podTimelines(store.events).map((x) => ({
      ...x,
      created: Math.min(x.created, createdAt.get(x.name) ?? x.created),
    }));
    const latency = podLatency(timelines);
    const placements: Placement[] = timelines
      .filter((x) => x.scheduled !== undefined && x.node)
      .sort((a, b) => a.scheduled! - b.scheduled!)
      .map((x) => {
        const i = Number(x.name.slice(2));
        const spec = specs[i]!;
        return {
          pod: x.name,
          node: x.node!,
          source: spec.metadata!.labels![DATA_SOURCE_LABEL],
          needsCloud: spec.metadata!.labels![NEEDS_CLOUD_LABEL] === 'true',
          milliCPU: POD_CPU_MILLI,
        };
      });
    const first = Math.min(...timelines.map((x) => x.created));
    const last = Math.max(...timelines.map((x) => x.scheduled ?? 0));
    const run: SchedulerRun = {
      scheduler,
      latency,
      quality: placementQuality(t, placements),
      makespanMs: Math.round(last - first),
    };
    await api.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 });
    await store.waitFor((pods) => pods.length === 0, signal);
    return run;
  } finally {
    store.stop();
  }
}

/**
 * Overload migration: a Deployment placed by the edge scheduler, then the node holding most of
 * its pods reports a CPU load of 0.97; `edge-scheduler migrate` evicts them and the edge scheduler
 * places the replacements. Time from the overload signal to each replacement Ready elsewhere.
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
        if (ready && p.spec?.nodeName !== victimNode) samples.push(ready.at - t0);
      }
      evicted += victims.length;
      await patchNode(victimNode, { [CPU_LOAD]: String(original.cpuLoad) });
      log.info(`migration trial ${trial + 1}: ${victims.length} pod(s) moved off ${victimNode}`);
    }
  } finally {
    store.stop();
  }
  return { trials, toReady: quantiles(samples), evicted, moves };
}

/** The whole benchmark: one control plane, the default scheduler and the edge scheduler side by side. */
export async function runSchedulingBench(o: SchedulingBenchOptions): Promise<SchedulingBenchResult> {
  const edgeBin = edgeSchedulerBinary();
  const kubeScheduler = kubeBinary('hyperkube');
  const qps = o.qps ?? defaultClientLimits.qps;
  const burst = o.burst ?? defaultClientLimits.burst;
  const progress = o.onProgress ?? ((l: string) => log.info(l));
  const topology = benchTopology(o.nodes, o.seed ?? 1);
  const signal = deadline(o.timeoutMs ?? 30 * 60_000, 'scheduling benchmark', o.signal);

  let ownDir: CleanupHandle | undefined;
  let dir = o.dir;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'edgechaos-bench-sched-'));
    ownDir = o.registry.add('dir', `scheduling bench dir ${dir}`, { path: dir });
  }
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const started: StartedProcess[] = [];
  let cp: StartedControlPlane | undefined;
  try {
    progress(`starting the control plane with ${o.nodes} kwok nodes`);
    cp = await startControlPlane({
      nodes: nodeSpecs(topology),
      registry: o.registry,
      dir: join(dir, 'cluster'),
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
        config: edgeSchedulerConfig(limits),
        kubeconfig,
        dir,
        registry: o.registry,
        signal,
      }),
    ]);
    started.push(baseSched, edgeSched);

    const concurrency = o.concurrency ?? 16;
    const warm = Math.min(20, o.pods);
    for (const s of [BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME]) {
      await schedulingRound(kc, topology, s, `warm-${s}`, warm, concurrency, signal);
    }
    progress(`${BASELINE_SCHEDULER_NAME}: ${o.pods} pods`);
    const baseline = await schedulingRound(
      kc,
      topology,
      BASELINE_SCHEDULER_NAME,
      'bench-default',
      o.pods,
      concurrency,
      signal,
    );
    progress(`${EDGE_SCHEDULER_NAME}: ${o.pods} pods`);
    const edge = await schedulingRound(
      kc,
      topology,
      EDGE_SCHEDULER_NAME,
      'bench-edge',
      o.pods,
      concurrency,
      signal,
    );

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
      qps,
      burst,
      clusterReadyMs: cp.readyMs,
      topology: {
        sources: topology.sources.length,
        busyNodes: topology.nodes.filter((n) => n.cpuLoad >= 0.5).length,
        uplinkDown: topology.nodes.filter((n) => n.uplinkDown).map((n) => n.name),
      },
      baseline,
      edge,
      ...(migration ? { migration } : {}),
    };
  } finally {
    for (const p of started.reverse())
      await p.stop().catch((e: unknown) => log.error(`stop ${p.name}: ${String(e)}`));
    await cp?.stop().catch((e: unknown) => log.error(`stop control plane: ${String(e)}`));
    await ownDir?.revert().catch((e: unknown) => log.error(`remove ${dir}: ${String(e)}`));
  }
}

/** The evidence the rubric consumes (scenarios/rubric.ts): the edge scheduler's figures. */
export function schedulingMetrics(r: SchedulingBenchResult): Metrics {
  const source = `bench:scheduling ${EDGE_SCHEDULER_NAME} ${r.nodes} nodes/${r.pods} pods`;
  const m: Metrics = {
    'scheduling.p99-ms': { value: r.edge.latency.createdToScheduled.p99, unit: 'ms', source },
    'scheduling.p50-ms': { value: r.edge.latency.createdToScheduled.p50, unit: 'ms', source },
    'scheduling.throughput-pods-per-s': { value: r.edge.latency.scheduledPerSecond, unit: 'pods/s', source },
    'scheduling.cpu-spread': {
      value: r.edge.quality.cpuSpread,
      unit: 'stddev of node CPU utilisation',
      source,
    },
    'scheduling.low-latency-share': { value: r.edge.quality.lowLatencyShare, unit: 'ratio', source },
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

/** Side-by-side rows: metric, default, edge, edge/default. */
export function comparisonRows(r: SchedulingBenchResult): string[][] {
  const b = r.baseline;
  const e = r.edge;
  const ratio = (x: number, y: number): string => (y === 0 ? '-' : (x / y).toFixed(2));
  const row = (name: string, x: number, y: number): string[] => [name, String(x), String(y), ratio(y, x)];
  return [
    row('latency p50 (ms)', b.latency.createdToScheduled.p50, e.latency.createdToScheduled.p50),
    row('latency p99 (ms)', b.latency.createdToScheduled.p99, e.latency.createdToScheduled.p99),
    row('throughput (pods/s)', b.latency.scheduledPerSecond, e.latency.scheduledPerSecond),
    row('CPU utilisation spread (sd)', b.quality.cpuSpread, e.quality.cpuSpread),
    row('on lowest-latency eligible node', b.quality.lowLatencyShare, e.quality.lowLatencyShare),
    row('mean latency to data source (ms)', b.quality.meanLatencyMs, e.quality.meanLatencyMs),
    row('needs-cloud pods on uplink-down node', b.quality.onDownUplink, e.quality.onDownUplink),
  ];
}

export function writeEvidence(file: string, r: SchedulingBenchResult): void {
  writeFileSync(
    file,
    JSON.stringify({ kind: 'scheduling-bench', metrics: schedulingMetrics(r), result: r }, null, 2) + '\n',
  );
}
