import { join } from 'node:path';
import { prevalidateFaults } from '../../../faults/catalogue.ts';
import { startControlPlane, type StartedControlPlane } from '../../control-plane/control-plane.ts';
import type { FakeNodeSpec } from '../../control-plane/nodes.ts';
import { isBoardProfile } from '../../control-plane/profiles.ts';
import { kubeBinary, readKubeLock } from '../../control-plane/tools.ts';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { logger } from '../../core/logger.ts';
import {
  defaultClientLimits,
  EDGE_SCHEDULER_NAME,
  edgeSchedulerBinary,
  edgeSchedulerConfig,
  startScheduler,
} from '../../scheduling/index.ts';
import { requireTool } from '../../tools/find.ts';
import type { CampaignDeployment } from '../campaign-port.ts';
import { deployKubeSide, keepOnlyLogs, kubeChecks, kubePort } from '../kube/campaign.ts';
import type { NodeLossDriver } from '../kube/reschedule.ts';
import { deployLocal, withOciColdStarts } from '../local/plugin.ts';
import type { LocalDeployment } from '../local/deployment.ts';
import type { CampaignRequest, DeployContext, TargetPlugin } from '../plugin.ts';
import { benchCheck } from './bench-check.ts';
import { kubeLocalDetached } from './detached.ts';
import { startLoadJob } from './load-job.ts';
import { startNodeReporter } from './node-reporter.ts';

const log = logger('kube-local');

/** The fake (kwok) nodes that mirror the scenario's nodes: `cloud` plus one per edge, board capacities. */
export function mirrorNodes(edges: readonly { name: string; profile: string }[]): FakeNodeSpec[] {
  return [
    { name: 'cloud', role: 'cloud', profile: 'cloud-vm' },
    ...edges.map((n): FakeNodeSpec => ({
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
export const kubeLocalPlugin: TargetPlugin = {
  name: 'kube-local',
  summary: 'the local data plane plus an embedded Kubernetes control plane (kwok nodes)',
  capabilities: ['shell', 'stack', 'uplink', 'kube'],
  options: {},
  preflight(req) {
    prevalidateFaults(
      req.faults,
      req.edges.map((e) => e.name),
      kubeLocalPlugin,
    );
    const lock = readKubeLock();
    for (const bin of ['etcd', 'hyperkube']) kubeBinary(bin, lock); // throws with the bootstrap --kube hint
    requireTool('kwok');
    if (req.stack.kube?.scheduler === 'edge-scheduler') edgeSchedulerBinary();
    return Promise.resolve();
  },
  deploy: deployKubeLocal,
  detached: kubeLocalDetached,
};

async function deployKubeLocal(req: CampaignRequest, ctx: DeployContext): Promise<CampaignDeployment> {
  const { stack } = req;
  const { registry, runDir, runId, signal } = ctx;
  await kubeLocalPlugin.preflight(req);
  const dep = await deployLocal(req, ctx);
  let cp: StartedControlPlane | undefined;
  let stopScheduler: () => Promise<void> = () => Promise.resolve();
  try {
    cp = await startControlPlane({
      nodes: mirrorNodes(req.edges),
      registry,
      dir: join(runDir, 'kube'),
      signal,
    });
    const kwok = cp.nodeLossDriver();
    const frozen = new Map<string, CleanupHandle>();
    const nodeLoss = frozenNodeLoss(kwok, dep, frozen, registry);
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
    const reporter = startNodeReporter(side.kc, dep, req.edges);
    log.info(
      `kube-local: ${side.deployed.objects.length} objects in ${side.target.namespace} ready in ${side.deployed.readyMs} ms`,
    );
    const controlPlane = cp;
    const port = kubePort(dep, req, runDir, side, {
      nodeLoss,
      node: (n) => n,
      checks: async (sig) => [
        ...(await kubeChecks(side, req.checks, req.edges.length, registry, sig)),
        ...(await benchCheck(req.checks, stack, runDir, sig)),
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
    return {
      ...withOciColdStarts(port, dep, stack),
      startLoadReplicas: (o, replicas) =>
        startLoadJob({ ...o, kc: side.kc, namespace: side.target.namespace, replicas }),
    };
  } catch (err) {
    await stopScheduler().catch(() => undefined);
    await cp?.stop().catch(() => undefined);
    await dep.teardown().catch(() => undefined);
    throw err;
  }
}

/**
 * kube-local's node loss: the node's processes frozen (journaled in `registry`, the handle kept in
 * `frozen`), then kwok's loss of the node; restore thaws them, then restores the node.
 */
export function frozenNodeLoss(
  kwok: NodeLossDriver,
  dep: Pick<LocalDeployment, 'freeze'>,
  frozen: Map<string, CleanupHandle>,
  registry: CleanupRegistry,
): NodeLossDriver {
  return {
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
}
