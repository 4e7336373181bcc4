import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { CleanupHandle } from '../core/cleanup/registry.ts';
import { deadline } from '../core/deadline.ts';
import { logger } from '../core/logger.ts';
import { startControlPlane, type StartedControlPlane } from '../control-plane/control-plane.ts';
import { kubeBinary } from '../control-plane/tools.ts';
import { migrationTrials } from './bench-migration.ts';
import { pool } from './bench-pods.ts';
import { schedulingRound, type RoundPlan } from './bench-round.ts';
import { summarise } from './bench-summary.ts';
import type {
  MigrationResult,
  RoundResult,
  SchedulingBenchOptions,
  SchedulingBenchResult,
} from './bench-types.ts';
import {
  baselineSchedulerConfig,
  benchClientLimits,
  edgeSchedulerConfig,
  sharedSchedulerConfig,
  type SchedulerConfigOptions,
} from './config.ts';
import { BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME } from './keys.ts';
import { PodCreator } from './pod-creator.ts';
import { readPluginExtensionPoints } from './scheduler-metrics.ts';
import { startMigrator, startScheduler, type StartedProcess } from './scheduler-process.ts';
import { edgeSchedulerBinary } from './tools.ts';
import { benchTopology, nodeAnnotations, nodeSpecs, type Topology } from './topology.ts';

export type {
  MigrationResult,
  PhaseResult,
  RoundResult,
  SchedulerSummary,
  SchedulingBenchOptions,
  SchedulingBenchResult,
} from './bench-types.ts';
export type { SchedulingTrace } from './bench-pods.ts';
export {
  breakdownHeader,
  breakdownRows,
  comparisonHeader,
  comparisonRows,
  limitHeader,
  limitRows,
  schedulingMetrics,
  summarise,
  writeEvidence,
} from './bench-summary.ts';
export { limitingComponent, type Limit } from './bench-limits.ts';

const log = logger('bench-scheduling');

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
/** What a run's options resolve to. */
interface BenchSettings {
  qps: number;
  burst: number;
  concurrency: number;
  roundCount: number;
  arrivalRate: number;
  pacedPods: number;
  /** Pause after a round: the scheduler's client token bucket refills (burst/qps). */
  settleMs: number;
  timeoutMs: number;
}

function settingsOf(o: SchedulingBenchOptions): BenchSettings {
  const qps = o.qps ?? benchClientLimits.qps;
  const burst = o.burst ?? benchClientLimits.burst;
  const roundCount = o.rounds ?? 3;
  const arrivalRate = o.arrivalRate ?? Math.min(100, Math.round(0.8 * qps));
  const pacedPods = o.pacedPods ?? defaultPacedPods(o.pods);
  const tooMany = podsDoNotFit(o.nodes, o.pods, pacedPods);
  if (tooMany) throw new RangeError(tooMany);
  // Default deadline: twice what the client limit alone implies for every round, at least 30 min.
  const expectedS = 2 * (roundCount + 1) * (o.pods / qps + pacedPods / arrivalRate + 10) + o.nodes;
  return {
    qps,
    burst,
    concurrency: o.concurrency ?? 16,
    roundCount,
    arrivalRate,
    pacedPods,
    // Every round starts with the scheduler's client token bucket full (it refills at qps).
    settleMs: Math.max(1000, Math.ceil((1000 * burst) / qps)),
    timeoutMs: o.timeoutMs ?? Math.max(30 * 60_000, 2000 * expectedS),
  };
}

/** The control plane with the topology's kwok nodes, annotated. */
async function startCluster(
  o: SchedulingBenchOptions,
  topology: Topology,
  dir: string,
  signal: AbortSignal,
): Promise<StartedControlPlane> {
  const cp = await startControlPlane({
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
  const core = cp.kubeConfig().makeApiClient(CoreV1Api);
  await pool(topology.nodes, 8, (n) =>
    core.patchNode(
      { name: n.name, body: { metadata: { annotations: nodeAnnotations(n) } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    ),
  );
  return cp;
}

/** The stock kube-scheduler and the edge scheduler, same client limits and shared settings. */
async function startSchedulers(
  o: SchedulingBenchOptions,
  limits: SchedulerConfigOptions,
  dir: string,
  signal: AbortSignal,
): Promise<[StartedProcess, StartedProcess]> {
  return Promise.all([
    startScheduler({
      name: BASELINE_SCHEDULER_NAME,
      argv0: [kubeBinary('hyperkube'), 'kube-scheduler'],
      config: baselineSchedulerConfig(limits),
      kubeconfig: limits.kubeconfig,
      dir,
      registry: o.registry,
      signal,
    }),
    startScheduler({
      name: EDGE_SCHEDULER_NAME,
      argv0: [edgeSchedulerBinary()],
      config:
        o.edgePlugins === false
          ? { ...sharedSchedulerConfig(limits), profiles: [{ schedulerName: EDGE_SCHEDULER_NAME }] }
          : edgeSchedulerConfig(limits),
      kubeconfig: limits.kubeconfig,
      dir,
      registry: o.registry,
      signal,
    }),
  ]);
}

/** Run context of the rounds. */
interface Rounds {
  kc: KubeConfig;
  creator: PodCreator;
  topology: Topology;
  s: BenchSettings;
  plan: (round: number, scheduler: string, pacedPods: number, burstPods: number) => RoundPlan;
  progress: (line: string) => void;
}

/**
 * Warm-up: the first pods a scheduler binds pay for lazy start-up (informer caches filling,
 * the scheduling queue's goroutines, connection set-up, Go heap growth): one small round each.
 * Then the measured rounds, alternating default, edge, default, edge …
 */
async function runRounds(
  o: SchedulingBenchOptions,
  x: Rounds,
  signal: AbortSignal,
): Promise<{ warmup: RoundResult[]; rounds: RoundResult[] }> {
  const schedulers = [BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME];
  const { s } = x;
  const warmup: RoundResult[] = [];
  const warm = Math.min(50, o.pods);
  for (const name of schedulers) {
    x.progress(`warm-up: ${name}, ${Math.min(warm, s.pacedPods)} paced + ${warm} burst pods`);
    const plan = x.plan(0, name, Math.min(warm, s.pacedPods), warm);
    warmup.push(await schedulingRound(x.kc, x.creator, x.topology, plan, signal));
  }
  const rounds: RoundResult[] = [];
  for (let i = 1; i <= s.roundCount; i++) {
    for (const name of schedulers) {
      x.progress(
        `round ${i}/${s.roundCount}: ${name}, ${s.pacedPods} pods at ${s.arrivalRate}/s, then ${o.pods} pods at once`,
      );
      const plan: RoundPlan = {
        ...x.plan(i, name, s.pacedPods, o.pods),
        ...(o.profileDir && i === 1 ? { profileFile: join(o.profileDir, `${name}.cpu.pprof`) } : {}),
        ...(o.traceDir && i === 1 ? { traceFile: join(o.traceDir, `${name}.trace.json`) } : {}),
        onResult: (r) =>
          x.progress(
            `  p50 ${r.paced.latency.p50} ms, p99 ${r.paced.latency.p99} ms (arrivals ${r.paced.arrivalPerSecond}/s); burst ${r.burst.throughput} pods/s, p99 ${r.burst.latency.p99} ms; on lowest-latency node ${r.quality.lowLatencyShare}, CPU sd ${r.quality.cpuSpread}; scheduler: ${JSON.stringify(r.paced.scheduler ?? {})}`,
          ),
      };
      rounds.push(await schedulingRound(x.kc, x.creator, x.topology, plan, signal));
    }
  }
  return { warmup, rounds };
}

/** Per scheduler: the extension points each plugin ran at (from its /metrics). */
async function pluginPointsOf(
  scheds: readonly (readonly [string, StartedProcess])[],
  token: string | undefined,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, p] of scheds)
    out[name] = token
      ? await readPluginExtensionPoints(p.port!, token).catch((e: unknown) => {
          log.warn(`${name} /metrics: ${String(e)}`);
          return [];
        })
      : [];
  return out;
}

/** The overload-migration trials with `edge-scheduler migrate` running. */
async function runMigration(
  o: SchedulingBenchOptions,
  cp: StartedControlPlane,
  topology: Topology,
  dir: string,
  started: StartedProcess[],
  signal: AbortSignal,
): Promise<MigrationResult> {
  started.push(
    await startMigrator({
      bin: edgeSchedulerBinary(),
      kubeconfig: cp.kubeconfigPath('kube-scheduler'),
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
  return migrationTrials(cp, topology, o.migrationTrials ?? 1, signal);
}

/** The whole benchmark: one control plane, the default scheduler and the edge scheduler side by side. */
export async function runSchedulingBench(o: SchedulingBenchOptions): Promise<SchedulingBenchResult> {
  edgeSchedulerBinary(); // fails with the install hint before anything starts
  kubeBinary('hyperkube');
  const s = settingsOf(o);
  const progress = o.onProgress ?? ((l: string) => log.info(l));
  const topology = benchTopology(o.nodes, o.seed ?? 1);
  const signal = deadline(s.timeoutMs, 'scheduling benchmark', o.signal);
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
    cp = await startCluster(o, topology, dir, signal);
    const kc = cp.kubeConfig();
    const limits = { kubeconfig: cp.kubeconfigPath('kube-scheduler'), qps: s.qps, burst: s.burst };
    progress(
      `starting ${BASELINE_SCHEDULER_NAME} (stock kube-scheduler) and ${EDGE_SCHEDULER_NAME} (qps ${s.qps}, burst ${s.burst})`,
    );
    const [baseSched, edgeSched] = await startSchedulers(o, limits, dir, signal);
    started.push(baseSched, edgeSched);
    creator = await PodCreator.open(kc, s.concurrency);
    const token = kc.getCurrentUser()?.token;
    const plan = (round: number, scheduler: string, pacedPods: number, burstPods: number): RoundPlan => ({
      round,
      scheduler,
      namespace: `bench-r${round}-${scheduler === EDGE_SCHEDULER_NAME ? 'edge' : 'default'}`,
      pacedPods,
      burstPods,
      rate: s.arrivalRate,
      concurrency: s.concurrency,
      qps: s.qps,
      settleMs: s.settleMs,
      ...(token
        ? { metrics: { port: (scheduler === EDGE_SCHEDULER_NAME ? edgeSched : baseSched).port!, token } }
        : {}),
    });
    const { warmup, rounds } = await runRounds(o, { kc, creator, topology, s, plan, progress }, signal);
    const pluginPoints = await pluginPointsOf(
      [
        [BASELINE_SCHEDULER_NAME, baseSched],
        [EDGE_SCHEDULER_NAME, edgeSched],
      ],
      token,
    );
    let migration: MigrationResult | undefined;
    if ((o.migrationTrials ?? 1) > 0) {
      progress(`overload migration: ${o.migrationTrials ?? 1} trial(s)`);
      migration = await runMigration(o, cp, topology, dir, started, signal);
    }
    return {
      nodes: o.nodes,
      pods: o.pods,
      pacedPods: s.pacedPods,
      arrivalRate: s.arrivalRate,
      qps: s.qps,
      burst: s.burst,
      concurrency: s.concurrency,
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
