import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { KubeControl } from '../../../faults/capabilities.ts';
import { checkRescheduling, checkSchedulingLatency } from '../../checks/scheduling.ts';
import { notMeasured, type CheckResult } from '../../checks/types.ts';
import type { CleanupRegistry } from '../../core/cleanup/registry.ts';
import { isNodeHealthy } from '../../control-plane/nodes.ts';
import { parseDuration } from '../../core/duration.ts';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { run } from '../../core/proc.ts';
import { repoRoot } from '../../core/paths.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { campaignPort, type CampaignDeployment } from '../campaign-port.ts';
import type { CampaignRequest, DeployContext, TargetCheckSettings } from '../plugin.ts';
import { faultSurface } from '../surface.ts';
import type { Deployment } from '../types.ts';
import { ClusterDeployment } from './cluster-deployment.ts';
import type { DockerExecutor } from './docker-shell.ts';
import { cordon, drain, killPod, overload, overloadDriver } from './node-faults.ts';
import { POD_LOGS_DIR, savePodLogs } from './pod-logs.ts';
import { measureRescheduling, type NodeLossDriver, type RescheduleTrial } from './reschedule.ts';
import { KubeTarget, loadKubeConfig, type DeployResult } from './target.ts';
import { loadRunnerImage } from './load-image.ts';
import { loadNodeAddresses, startClusterLoadJob } from './load-job.ts';
import { nodePathOf } from './kind.ts';
import { buildUplinkImage, UPLINK_LISTEN, uplinkDaemonSet } from './uplink.ts';

/**
 * The Kubernetes half of a campaign, shared by the kube-local, kind and kube targets: the stack's
 * manifests on a cluster, the `kube` fault capability, and what can be measured there (scheduling
 * latency, rescheduling).
 */

const log = logger('kube-campaign');

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
  /** Keep the pods' logs here when the deploy fails (clusters whose nodes go away with the run). */
  podLogsDir?: string;
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
  let deployed: DeployResult;
  try {
    deployed = await target.deploy({ signal: opts.signal });
  } catch (err) {
    // pods that never got ready: why is in their logs
    if (opts.podLogsDir) await savePodLogs(target.kc, target.namespace, opts.podLogsDir);
    throw err;
  }
  return {
    kc: target.kc,
    kubeconfig: opts.kubeconfig,
    target,
    deployed,
    nodeLoss: opts.nodeLoss,
    schedulerName: opts.schedulerName ?? 'default-scheduler',
  };
}

/** Scheduling latency of the deploy's pods, then N rescheduling trials (checks.rescheduling). */
export async function kubeChecks(
  side: KubeSide,
  settings: TargetCheckSettings,
  edges: number,
  registry: CleanupRegistry,
  signal: AbortSignal,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [
    {
      ...checkSchedulingLatency(side.deployed.podLatency, settings.scheduling.maxP99Ms, side.schedulerName),
      durationMs: side.deployed.readyMs,
    },
  ];
  const r = settings.rescheduling;
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
 * The `kube` capability of a run's cluster: Kubernetes faults act on the cluster's node (scenario node
 * names mapped to the cluster's), cordons and taints journaled with the kubeconfig so `cleanup`
 * reaches the cluster after a crash; node loss through the target's own driver.
 */
export function kubeControl(
  side: Pick<KubeSide, 'kc' | 'kubeconfig'> & { target: { namespace: string } },
  nodeLoss: NodeLossDriver,
  k8sNode: (scenarioNode: string) => string,
): KubeControl {
  return {
    async act(scenarioNode, a, registry) {
      const node = k8sNode(scenarioNode);
      const fctx = { registry, kubeconfig: side.kubeconfig };
      switch (a.action) {
        case 'node-loss': {
          await nodeLoss.lose(node);
          let done: Promise<void> | undefined;
          return { what: `node-loss ${node}`, revert: () => (done ??= nodeLoss.restore(node)) };
        }
        case 'cordon':
          return cordon(fctx, node);
        case 'drain':
          return (await drain(fctx, node)).handle;
        case 'overload':
          return overload(fctx, node);
        case 'pod-kill': {
          const pods = await side.kc.makeApiClient(CoreV1Api).listNamespacedPod({
            namespace: side.target.namespace,
            fieldSelector: `spec.nodeName=${node}`,
          });
          const victims = pods.items.filter((p) =>
            (p.metadata?.ownerReferences ?? []).some(
              (o) => o.kind === 'ReplicaSet' && o.name.startsWith(`${a.workload}-`),
            ),
          );
          for (const p of victims) await killPod(side.kubeconfig, side.target.namespace, p.metadata!.name!);
          return undefined;
        }
      }
    },
  };
}

/**
 * A node-level deployment's campaign port with the Kubernetes side added: faults see the `kube`
 * capability beside the node-level ones; the kube checks run last.
 */
export function kubePort(
  dep: Deployment,
  req: CampaignRequest,
  runDir: string,
  side: KubeSide,
  o: {
    nodeLoss: NodeLossDriver;
    node: (scenarioNode: string) => string;
    checks: (signal: AbortSignal) => Promise<CheckResult[]>;
    teardown: () => Promise<void>;
  },
): CampaignDeployment {
  const surface = faultSurface(dep, kubeControl(side, o.nodeLoss, o.node));
  return {
    ...campaignPort(dep, req.stack, runDir, surface),
    targetChecks: o.checks,
    teardown: o.teardown,
  };
}

/**
 * Certificates, keys, tokens and kubeconfigs of a run's cluster are secrets: once it is gone, only
 * its logs stay in the run dir (which is also the reports dir).
 */
export function keepOnlyLogs(dir: string): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f !== 'logs') rmSync(join(dir, f), { recursive: true, force: true });
}

/** The harness's source address towards `ip` (what the nodes see as the client): `ip route get`, sends nothing. */
export async function sourceAddressTowards(ip: string): Promise<string> {
  const r = await run(['ip', '-j', 'route', 'get', ip]);
  const src = (JSON.parse(r.stdout) as { prefsrc?: string }[])[0]?.prefsrc;
  if (!src) throw new TargetError(`no route from this machine to the cluster's nodes (${ip})`);
  return src;
}

export interface ClusterCampaign {
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
export async function clusterCampaign(
  req: CampaignRequest,
  { runId, runDir, registry, signal }: DeployContext,
  c: ClusterCampaign,
): Promise<CampaignDeployment> {
  const { stack } = req;
  let deployed: KubeSide | undefined;
  try {
    const stressor = join(repoRoot, 'stack', 'dist', 'bin', 'linux-amd64', 'ec-stress');
    const edgeBinary = stack.edge.command[0]!;
    await c.copyToNodes([edgeBinary, stressor]);
    await c.loadImage(await buildUplinkImage(join(runDir, 'images')));
    // `--load-replicas`: the load runner image on the nodes now, not when the load should start
    const runnerImage = req.loadReplicas !== undefined ? await loadRunnerImage() : undefined;
    if (runnerImage) await c.loadImage(runnerImage.archive);
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
      podLogsDir: join(runDir, POD_LOGS_DIR),
    });
    deployed = side;
    const core = side.kc.makeApiClient(CoreV1Api);
    const clusterNodes = (await core.listNode()).items;
    const cloudIp = clusterNodes
      .find((n) => n.metadata?.labels?.['edgechaos.io/role'] === 'cloud')
      ?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (!cloudIp) throw new TargetError('no node labelled edgechaos.io/role=cloud with an InternalIP');
    const dep = await ClusterDeployment.attach({
      target: c.target,
      kube: side.target,
      stack,
      edges: req.edges.map((n) => n.name),
      runId,
      runDir,
      registry,
      clientAddress: await sourceAddressTowards(cloudIp),
      extraClientAddresses: loadNodeAddresses(clusterNodes),
      // what runs in the nodes runs from where copyToNodes put it
      programs: { 'stress-ng': nodePathOf(stressor), [edgeBinary]: nodePathOf(edgeBinary) },
      signal,
      ...(c.exec ? { exec: c.exec } : {}),
    });
    // A lost node's agent restarts with its node: expected, not a crash (the fault's and the
    // rescheduling trials' alike). A node container that comes back has a new network namespace:
    // counters and uplink proxy again.
    const lose = nodeLoss.lose.bind(nodeLoss);
    const restore = nodeLoss.restore.bind(nodeLoss);
    nodeLoss.lose = async (node) => {
      dep.expectRestart(node, true);
      await lose(node);
    };
    nodeLoss.restore = async (node, o) => {
      await restore(node, o);
      dep.expectRestart(node, false);
      await dep.reprovision(node, o?.signal);
    };
    const port = kubePort(dep, req, runDir, side, {
      nodeLoss,
      node: (n) => dep.k8sNode(n),
      checks: async (sig) => [
        ...(await kubeChecks(side, req.checks, req.edges.length, registry, sig)),
        ...(req.checks.schedulingBench
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
    return {
      ...port,
      // `--load-replicas N` (refused by the campaign on kind/kube until proven on a Kind cluster)
      startLoadReplicas: (o, replicas) =>
        startClusterLoadJob({
          ...o,
          kc: side.kc,
          kubeconfig: c.kubeconfig,
          ...(c.context ? { context: c.context } : {}),
          namespace: side.target.namespace,
          replicas,
          registry,
          loadImage: c.loadImage,
          ...(runnerImage ? { image: runnerImage } : {}),
          disposableCluster: c.target === 'kind',
        }),
    };
  } catch (err) {
    // why the stack never got healthy is in its pods' logs: keep them before the cluster goes
    if (deployed) await savePodLogs(deployed.kc, deployed.target.namespace, join(runDir, POD_LOGS_DIR));
    await c.dispose().catch(() => undefined);
    throw err;
  }
}

export function nodeHealthy(kc: KubeConfig): (node: string) => Promise<boolean> {
  const core = kc.makeApiClient(CoreV1Api);
  return async (node) => isNodeHealthy(await core.readNode({ name: node }));
}
