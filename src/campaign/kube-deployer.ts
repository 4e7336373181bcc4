import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, setHeaderOptions } from '@kubernetes/client-node';
import { edgeStatus } from '../contract/client.ts';
import {
  CPU_LOAD,
  defaultClientLimits,
  EDGE_SCHEDULER_NAME,
  edgeSchedulerBinary,
  edgeSchedulerConfig,
  latencyKey,
  MEM_LOAD,
  runSchedulingBench,
  startScheduler,
  UPLINK,
} from '../scheduling/index.ts';
import type { Deployment } from '../targets/types.ts';
import { checkRescheduling, checkSchedulingBench, checkSchedulingLatency } from '../checks/scheduling.ts';
import { notMeasured, type CheckResult } from '../checks/types.ts';
import type { CleanupHandle, CleanupRegistry } from '../core/cleanup/registry.ts';
import { parseDuration } from '../core/duration.ts';
import { logger } from '../core/logger.ts';
import { repoRoot } from '../core/paths.ts';
import { TargetError, UsageError } from '../core/errors.ts';
import { run } from '../core/proc.ts';
import { isNodeHealthy } from '../control-plane/nodes.ts';
import { requireTool, which } from '../tools/find.ts';
import { kubeBinary, readKubeLock } from '../control-plane/tools.ts';
import { ClusterDeployment } from '../targets/kube/cluster-deployment.ts';
import type { DockerExecutor } from '../targets/kube/docker-shell.ts';
import { buildUplinkImage, UPLINK_LISTEN, uplinkDaemonSet } from '../targets/kube/uplink.ts';
import {
  CTR_IMPORT,
  containerNodeLoss,
  copyIntoNodes,
  KindCluster,
  kindCommands,
  kindPreflight,
  realExecutor,
} from '../targets/kube/kind.ts';
import { kindEnvironment, kindEnvironmentPreflight } from '../tools/kind-env.ts';
import { startControlPlane, type StartedControlPlane } from '../control-plane/control-plane.ts';
import type { FakeNodeSpec } from '../control-plane/nodes.ts';
import { isBoardProfile } from '../control-plane/profiles.ts';
import type { StackManifest } from '../stack/manifest.ts';
import { applyKubeFault, isKubeFault, validateKubeFault } from '../targets/kube/campaign-faults.ts';
import { overloadDriver } from '../targets/kube/node-faults.ts';
import {
  measureRescheduling,
  type NodeLossDriver,
  type RescheduleTrial,
} from '../targets/kube/reschedule.ts';
import { KubeTarget, loadKubeConfig, type DeployResult } from '../targets/kube/target.ts';
import type { CampaignDeployment } from './deployment.ts';
import { atFault, campaignPort, deployLocal, prevalidateFaults } from './local-deployer.ts';
import type { Plan } from './plan.ts';
import type { Deployer } from './run.ts';
import type { Scenario } from './scenario.ts';

const log = logger('kube-campaign');

/** Validate every planned fault: Kubernetes-level kinds here, node-level kinds by the catalogue. */
export function prevalidateKubeFaults(plan: Plan, target: string): void {
  plan.faults.forEach((f, i) => atFault(i, () => isKubeFault(f.kind) && validateKubeFault(f, target)));
  prevalidateFaults(plan, (f) => isKubeFault(f.kind));
}

/** The Kubernetes half of a campaign: the stack's manifests on a cluster and what can be measured there. */
export interface KubeSide {
  kc: KubeConfig;
  kubeconfig: string;
  target: KubeTarget;
  deployed: DeployResult;
  /** How this cluster loses a node (kwok heartbeat; Kind container stopped). */
  nodeLoss: NodeLossDriver;
  schedulerName: string;
}

/** Server-side apply the stack's manifests (a namespace per run) and wait until they are ready. */
export async function deployKubeSide(opts: {
  kubeconfig: string;
  context?: string;
  stack: StackManifest;
  runId: string;
  nodeLoss: NodeLossDriver;
  signal: AbortSignal;
  /** Clusters: the uplink proxies, with the edge agents' CLOUD_URL pointed at them. */
  uplinkProxies?: boolean;
  /** The stack's scheduler, already running: its workloads get this schedulerName. */
  schedulerName?: string;
}): Promise<KubeSide> {
  const target = await KubeTarget.connect(
    {
      kubeconfig: opts.kubeconfig,
      ...(opts.context ? { context: opts.context } : {}),
      ...(opts.stack.kube?.manifests ? { manifests: opts.stack.kube.manifests } : {}),
      namespace: `edgechaos-${opts.runId}`,
      ...(opts.schedulerName ? { schedulerName: opts.schedulerName } : {}),
      ...(opts.uplinkProxies
        ? {
            extraObjects: [uplinkDaemonSet()],
            env: {
              [opts.stack.kube?.edgeWorkload ?? 'edge-agent']: { CLOUD_URL: `http://${UPLINK_LISTEN}` },
            },
          }
        : {}),
    },
    opts.signal,
  );
  const deployed = await target.deploy({ signal: opts.signal });
  return {
    kc: target.kc,
    kubeconfig: opts.kubeconfig,
    target,
    deployed,
    nodeLoss: opts.nodeLoss,
    schedulerName: opts.schedulerName ?? 'default-scheduler',
  };
}

/** Scheduling latency of the deploy's pods, then N rescheduling trials (scenario.checks.rescheduling). */
export async function kubeChecks(
  side: KubeSide,
  scenario: Scenario,
  edges: number,
  registry: CleanupRegistry,
  signal: AbortSignal,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [
    {
      ...checkSchedulingLatency(
        side.deployed.podLatency,
        scenario.checks.scheduling.maxP99Ms,
        side.schedulerName,
      ),
      durationMs: side.deployed.readyMs,
    },
  ];
  const r = scenario.checks.rescheduling;
  const title = 'Rescheduling: node lost → workload Ready on other nodes';
  if (r.trials === 0) {
    out.push(notMeasured('rescheduling', title, 'disabled in the scenario (checks.rescheduling.trials: 0)'));
    return out;
  }
  if (edges < 2) {
    out.push(notMeasured('rescheduling', title, `needs at least two edge nodes (the scenario has ${edges})`));
    return out;
  }
  const driver =
    r.mechanism === 'overload' ? overloadDriver({ registry, kubeconfig: side.kubeconfig }) : side.nodeLoss;
  const timeoutMs = parseDuration(r.timeout);
  const done: RescheduleTrial[] = [];
  const t0 = performance.now();
  const timed = (c: CheckResult): CheckResult => ({ ...c, durationMs: Math.round(performance.now() - t0) });
  try {
    const result = await measureRescheduling({
      kc: side.kc,
      namespace: side.target.namespace,
      driver,
      trials: r.trials,
      trialTimeoutMs: timeoutMs,
      signal,
      onTrial: (t) => done.push(t),
    });
    out.push(timed(checkRescheduling({ ok: true, result }, r.maxP99Ms)));
  } catch (err) {
    if (signal.aborted) throw err;
    out.push(
      timed(
        checkRescheduling(
          {
            ok: false,
            error: err instanceof Error ? err.message : String(err),
            timeoutMs,
            partial: done,
            mechanism: driver.mechanism,
          },
          r.maxP99Ms,
        ),
      ),
    );
  }
  return out;
}

/**
 * A target's campaign port with the Kubernetes side added: Kubernetes faults go to the cluster (scenario
 * node names mapped to the cluster's), the rest to the data plane; the kube checks run last.
 */
function kubePort(
  port: CampaignDeployment,
  side: KubeSide,
  o: {
    target: string;
    nodeLoss: NodeLossDriver;
    node: (scenarioNode: string) => string;
    checks: (signal: AbortSignal) => Promise<CheckResult[]>;
    teardown: () => Promise<void>;
  },
): CampaignDeployment {
  return {
    ...port,
    target: o.target,
    applyFault: (f, reg, sig) =>
      isKubeFault(f.kind)
        ? applyKubeFault(
            { ...f, node: o.node(f.node) },
            {
              kc: side.kc,
              kubeconfig: side.kubeconfig,
              namespace: side.target.namespace,
              registry: reg,
              nodeLoss: o.nodeLoss,
            },
          )
        : port.applyFault(f, reg, sig),
    targetChecks: o.checks,
    teardown: o.teardown,
  };
}

/**
 * What the edge scheduler reads, written onto the mirrored nodes once a second from the data plane
 * (the reporter a real cluster runs beside each agent): CPU load = cgroup CPU time over the board's
 * quota, memory load = cgroup memory over its limit, uplink = the agent's own online/offline mode,
 * latency to the cloud = the board profile's uplink latency.
 */
export function startNodeReporter(kc: KubeConfig, dep: Deployment, plan: Plan): { stop(): void } {
  const api = kc.makeApiClient(CoreV1Api);
  const last = new Map<string, { t: number; cpu: number }>();
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      await Promise.all(
        plan.nodes.map(async (n) => {
          const info = dep.node(n.name);
          const stats = await dep.stats(n.name);
          const t = performance.now();
          const prev = last.get(n.name);
          last.set(n.name, { t, cpu: stats.cpuSeconds });
          const cpus = info.limits?.cpus ?? 1;
          const cpuLoad = prev ? (stats.cpuSeconds - prev.cpu) / ((t - prev.t) / 1000) / cpus : 0;
          const memLoad = stats.memoryLimitBytes ? stats.memoryBytes / stats.memoryLimitBytes : 0;
          const edge = dep.edges.find((e) => e.name === n.name)!;
          const st = await edgeStatus(edge.url).catch(() => undefined);
          const annotations: Record<string, string> = {
            [CPU_LOAD]: Math.max(0, cpuLoad).toFixed(3),
            [MEM_LOAD]: Math.max(0, memLoad).toFixed(3),
            [latencyKey('cloud')]: String(info.limits?.uplink?.latencyMs ?? 1),
            ...(st ? { [UPLINK]: st.mode === 'offline' ? 'down' : 'up' } : {}),
          };
          await api.patchNode(
            { name: n.name, body: { metadata: { annotations } } },
            setHeaderOptions('Content-Type', 'application/merge-patch+json'),
          );
        }),
      );
    } catch (err) {
      log.debug(`node reporter: ${String(err)}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 1000);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer) };
}

/**
 * Certificates, keys, tokens and kubeconfigs of a run's cluster are secrets: once it is gone, only
 * its logs stay in the run dir (which is also the reports dir).
 */
export function keepOnlyLogs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f !== 'logs') rmSync(join(dir, f), { recursive: true, force: true });
}

/** kube-local: the scheduling benchmark of the stack's edge-scheduler, when the scenario asks for it. */
async function benchCheck(
  scenario: Scenario,
  stack: StackManifest,
  runDir: string,
  signal: AbortSignal,
): Promise<CheckResult[]> {
  const b = scenario.checks.schedulingBench;
  if (!b) return [];
  const title = 'Scheduling benchmark beside the default scheduler';
  if (stack.kube?.scheduler !== 'edge-scheduler')
    return [
      notMeasured(
        'scheduling-bench',
        title,
        'the stack brings no scheduler of its own (stack.kube.scheduler)',
      ),
    ];
  const t0 = performance.now();
  const { CleanupRegistry, newRunId } = await import('../core/cleanup/registry.ts');
  await using reg = CleanupRegistry.open(newRunId('schedbench'));
  let r: Awaited<ReturnType<typeof runSchedulingBench>>;
  try {
    r = await runSchedulingBench({
      nodes: b.nodes,
      pods: b.pods,
      rounds: b.rounds,
      migrationTrials: 0,
      registry: reg,
      dir: join(runDir, 'scheduling-bench'),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    return [
      {
        id: 'scheduling-bench',
        title,
        status: 'failed',
        summary: `the benchmark did not finish: ${err instanceof Error ? err.message : String(err)}`,
        metrics: {},
        evidence: {},
        durationMs: Math.round(performance.now() - t0),
      },
    ];
  } finally {
    keepOnlyLogs(join(runDir, 'scheduling-bench'));
  }
  const pick = (x: typeof r.edge) => ({
    scheduler: x.scheduler,
    p99: x.p99,
    throughput: x.throughput,
    cpuSpread: x.cpuSpread,
    lowLatencyShare: x.lowLatencyShare,
  });
  return [
    {
      ...checkSchedulingBench({
        nodes: r.nodes,
        pods: r.pods,
        rounds: b.rounds,
        edge: pick(r.edge),
        baseline: pick(r.baseline),
      }),
      durationMs: Math.round(performance.now() - t0),
    },
  ];
}

/** The fake (kwok) nodes that mirror the scenario's nodes: `cloud` plus one per edge, board capacities. */
export function mirrorNodes(plan: Plan): FakeNodeSpec[] {
  return [
    { name: 'cloud', role: 'cloud', profile: 'cloud-vm' },
    ...plan.nodes.map((n): FakeNodeSpec => ({
      name: n.name,
      role: 'edge',
      profile: isBoardProfile(n.profile) ? n.profile : 'x86-edge',
    })),
  ];
}

/**
 * `--target kube-local`: the stack's processes run as on the local target (namespaces, cgroups,
 * toxiproxy), and an embedded control plane whose kwok nodes mirror the scenario's nodes runs the
 * stack's Kubernetes manifests, so the same campaign also measures scheduling and rescheduling.
 * Pods on the embedded cluster are kwok's (no container runs): the data plane is the local one.
 * A `node-loss` fault stops the node's kwok heartbeat AND freezes the node's processes.
 */
export const kubeLocalDeployer: Deployer = Object.assign(deployKubeLocal, {
  preflight: (plan: Plan, stack: StackManifest): Promise<void> => {
    prevalidateKubeFaults(plan, 'kube-local');
    const lock = readKubeLock();
    for (const bin of ['etcd', 'hyperkube']) kubeBinary(bin, lock); // throws with the bootstrap --kube hint
    requireTool('kwok');
    if (stack.kube?.scheduler === 'edge-scheduler') edgeSchedulerBinary();
    return Promise.resolve();
  },
});

async function deployKubeLocal(args: Parameters<Deployer>[0]): Promise<CampaignDeployment> {
  const { scenario, plan, stack, registry, runDir, runId, signal } = args;
  prevalidateKubeFaults(plan, 'kube-local');
  const dep = await deployLocal(args);
  let cp: StartedControlPlane | undefined;
  let stopScheduler: () => Promise<void> = () => Promise.resolve();
  try {
    cp = await startControlPlane({ nodes: mirrorNodes(plan), registry, dir: join(runDir, 'kube'), signal });
    const kwok = cp.nodeLossDriver();
    const frozen = new Map<string, CleanupHandle>();
    const nodeLoss: NodeLossDriver = {
      mechanism: `${kwok.mechanism}; the node's processes frozen`,
      lose: async (node) => {
        frozen.set(node, await dep.freeze(node, registry));
        await kwok.lose(node);
      },
      restore: async (node, o) => {
        await frozen.get(node)?.revert();
        frozen.delete(node);
        await kwok.restore(node, o);
      },
    };
    const scheduler =
      stack.kube?.scheduler === 'edge-scheduler'
        ? await startScheduler({
            name: EDGE_SCHEDULER_NAME,
            argv0: [edgeSchedulerBinary()],
            config: edgeSchedulerConfig({
              kubeconfig: cp.kubeconfigPath('kube-scheduler'),
              ...defaultClientLimits,
            }),
            kubeconfig: cp.kubeconfigPath('kube-scheduler'),
            dir: join(runDir, 'kube'),
            registry,
            signal,
          })
        : undefined;
    stopScheduler = () => scheduler?.stop() ?? Promise.resolve();
    const side = await deployKubeSide({
      kubeconfig: cp.kubeconfigPath(),
      stack,
      runId,
      nodeLoss,
      signal,
      ...(scheduler ? { schedulerName: EDGE_SCHEDULER_NAME } : {}),
    });
    const reporter = startNodeReporter(side.kc, dep, plan);
    log.info(
      `kube-local: ${side.deployed.objects.length} objects in ${side.target.namespace} ready in ${side.deployed.readyMs} ms`,
    );
    const port = campaignPort(dep, stack, runDir);
    const controlPlane = cp;
    return kubePort(port, side, {
      target: 'kube-local',
      nodeLoss,
      node: (n) => n,
      checks: async (sig) => [
        ...(await kubeChecks(side, scenario, plan.nodes.length, registry, sig)),
        ...(await benchCheck(scenario, stack, runDir, sig)),
      ],
      teardown: async () => {
        reporter.stop();
        for (const h of frozen.values()) await h.revert().catch(() => undefined);
        await stopScheduler().catch((e: unknown) => log.error(`scheduler stop: ${String(e)}`));
        await controlPlane.stop().catch((e: unknown) => log.error(`control plane stop: ${String(e)}`));
        keepOnlyLogs(join(runDir, 'kube'));
        await dep.teardown();
      },
    });
  } catch (err) {
    await stopScheduler().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await dep.teardown().catch(() => undefined);
    throw err;
  }
}

/** The harness's source address towards `ip` (what the nodes see as the client): `ip route get`, sends nothing. */
export async function sourceAddressTowards(ip: string): Promise<string> {
  const r = await run(['ip', '-j', 'route', 'get', ip]);
  const src = (JSON.parse(r.stdout) as { prefsrc?: string }[])[0]?.prefsrc;
  if (!src) throw new TargetError(`no route from this machine to the cluster's nodes (${ip})`);
  return src;
}

interface ClusterCampaign {
  target: 'kind' | 'kube';
  kubeconfig: string;
  context?: string;
  nodeLoss: (kc: KubeConfig) => NodeLossDriver;
  /** Copy files into every node (the stack's edge binary, for cold starts). */
  copyToNodes: (files: string[]) => Promise<void>;
  /** Make the uplink proxy image (a docker-archive) available on the nodes. */
  loadImage: (archive: string) => Promise<void>;
  exec?: DockerExecutor;
  /** Undo what the target created for the run (the Kind cluster). */
  dispose: () => Promise<void>;
}

/** The campaign port of a cluster whose nodes are containers: the stack from its manifests, faults via docker exec. */
async function clusterCampaign(
  args: Parameters<Deployer>[0],
  c: ClusterCampaign,
): Promise<CampaignDeployment> {
  const { scenario, plan, stack, registry, runDir, runId, signal } = args;
  try {
    const stressor = join(repoRoot, 'stack', 'dist', 'bin', 'linux-amd64', 'ec-stress');
    await c.copyToNodes([stack.edge.command[0]!, stressor]);
    await c.loadImage(await buildUplinkImage(join(runDir, 'images')));
    const kc = loadKubeConfig({ kubeconfig: c.kubeconfig, ...(c.context ? { context: c.context } : {}) });
    const nodeLoss = c.nodeLoss(kc);
    const side = await deployKubeSide({
      kubeconfig: c.kubeconfig,
      ...(c.context ? { context: c.context } : {}),
      stack,
      runId,
      nodeLoss,
      signal,
      uplinkProxies: true,
    });
    const core = side.kc.makeApiClient(CoreV1Api);
    const cloudIp = (await core.listNode()).items
      .find((n) => n.metadata?.labels?.['edgechaos.io/role'] === 'cloud')
      ?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (!cloudIp) throw new TargetError('no node labelled edgechaos.io/role=cloud with an InternalIP');
    const dep = await ClusterDeployment.attach({
      target: c.target,
      kube: side.target,
      stack,
      edges: plan.nodes.map((n) => n.name),
      runId,
      runDir,
      registry,
      clientAddress: await sourceAddressTowards(cloudIp),
      programs: { 'stress-ng': stressor },
      signal,
      ...(c.exec ? { exec: c.exec } : {}),
    });
    // a node container that comes back has a new network namespace: counters and uplink proxy again
    const restore = nodeLoss.restore.bind(nodeLoss);
    nodeLoss.restore = async (node, o) => {
      await restore(node, o);
      await dep.reprovision(node, o?.signal);
    };
    const port = campaignPort(dep, stack, runDir);
    return kubePort(port, side, {
      target: c.target,
      nodeLoss,
      node: (n) => dep.k8sNode(n),
      checks: async (sig) => [
        ...(await kubeChecks(side, scenario, plan.nodes.length, registry, sig)),
        ...(scenario.checks.schedulingBench
          ? [
              notMeasured(
                'scheduling-bench',
                'Scheduling benchmark beside the default scheduler',
                'runs on --target kube-local (its own embedded control plane)',
              ),
            ]
          : []),
      ],
      teardown: async () => {
        await dep.teardown().catch((e: unknown) => log.error(`teardown: ${String(e)}`));
        await c.dispose();
      },
    });
  } catch (err) {
    await c.dispose().catch(() => undefined);
    throw err;
  }
}

/**
 * `--target kind`: a fresh Kind cluster per run (the control plane is the cloud node, one worker per
 * scenario edge), the stack's images loaded from its archives, deleted at the end. Needs Docker and
 * kind; fails early with the install hint when they are absent.
 */
export function kindDeployer(opts: { nodeImage?: string } = {}): Deployer {
  const deploy: Deployer = async (args) => {
    const { plan, stack, registry, runDir, runId } = args;
    prevalidateKubeFaults(plan, 'kind');
    const nodeImage = opts.nodeImage ?? (await kindEnvironment(registry)).nodeImage;
    const cluster = await KindCluster.create({
      spec: {
        name: `edgechaos-${runId}`,
        edgeWorkers: plan.nodes.length,
        ...(nodeImage ? { nodeImage } : {}),
      },
      dir: join(runDir, 'kind'),
      registry,
      images: Object.values(stack.images),
    });
    return clusterCampaign(args, {
      target: 'kind',
      kubeconfig: cluster.kubeconfig,
      nodeLoss: (kc) => cluster.nodeLossDriver(nodeHealthy(kc)),
      copyToNodes: (files) => cluster.copyToNodes(files),
      loadImage: (archive) => cluster.loadImage(archive),
      dispose: async () => {
        await cluster.delete();
        keepOnlyLogs(join(runDir, 'kind'));
      },
    });
  };
  return Object.assign(deploy, {
    preflight: async (plan: Plan) => {
      prevalidateKubeFaults(plan, 'kind');
      await kindEnvironmentPreflight();
    },
  });
}

/**
 * `--target kube`: an existing cluster from a kubeconfig. Node-level faults and measurements go
 * through `docker exec`, so its nodes must be containers (kind, k3d clusters you made yourself);
 * node loss = `docker stop` of the node. Clusters of real machines: deploy to the boards with
 * `--target ssh`.
 */
export function kubeDeployer(opts: { kubeconfig?: string; context?: string }): Deployer {
  const kubeconfigFile = (): string => {
    const kubeconfig = opts.kubeconfig ?? process.env['KUBECONFIG'];
    if (!kubeconfig)
      throw new UsageError('--target kube needs a kubeconfig: --kubeconfig FILE (or $KUBECONFIG)');
    if (!existsSync(kubeconfig)) throw new UsageError('kubeconfig not found', { file: kubeconfig });
    return kubeconfig;
  };
  const preflight = async (plan: Plan): Promise<void> => {
    kubeconfigFile();
    prevalidateKubeFaults(plan, 'kube');
    await kindPreflight(realExecutor, which, { needKind: false });
  };
  const deploy: Deployer = async (args) => {
    await preflight(args.plan);
    const kubeconfig = kubeconfigFile();
    const nodes = new Set<string>();
    return clusterCampaign(args, {
      target: 'kube',
      kubeconfig,
      ...(opts.context ? { context: opts.context } : {}),
      nodeLoss: (kc) => containerNodeLoss(nodeHealthy(kc)),
      copyToNodes: async (files) => {
        const kc = loadKubeConfig({ kubeconfig, ...(opts.context ? { context: opts.context } : {}) });
        for (const n of (await kc.makeApiClient(CoreV1Api).listNode()).items) nodes.add(n.metadata!.name!);
        for (const node of nodes) {
          const r = await run(
            ['docker', 'inspect', '--type', 'container', '--format', '{{.State.Running}}', node],
            {
              allowFailure: true,
            },
          );
          if (r.code !== 0 || r.stdout.trim() !== 'true')
            throw new TargetError(
              `node ${node} is not a running container on this machine: --target kube reaches nodes with docker exec (kind, k3d clusters); for boards use --target ssh`,
            );
        }
        await copyIntoNodes(nodes, files);
      },
      loadImage: async (archive) => {
        await copyIntoNodes(nodes, [archive]);
        for (const node of nodes) await realExecutor(kindCommands.exec(node, [...CTR_IMPORT, archive]));
      },
      dispose: () => Promise.resolve(),
    });
  };
  return Object.assign(deploy, { preflight });
}

function nodeHealthy(kc: KubeConfig): (node: string) => Promise<boolean> {
  const core = kc.makeApiClient(CoreV1Api);
  return async (node) => isNodeHealthy(await core.readNode({ name: node }));
}
