import type { V1Taint } from '@kubernetes/client-node';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { deadline, sleep } from '../../core/deadline.ts';
import { explainKubeError } from './errors.ts';
import type { NodeLossDriver } from './reschedule.ts';
import { core, isGone, setTaint, setUnschedulable } from './reverters.ts';

/**
 * Kubernetes-level faults on nodes and pods, through the API (so they work on any cluster):
 * cordon, overload (a NoExecute taint: the node sheds its pods), pod kill. Each one that changes a
 * node is journaled in the cleanup registry first, with the kubeconfig path, so `edgechaos cleanup`
 * can revert it after a crash.
 */

export const OVERLOAD_TAINT: V1Taint = { key: 'edgechaos.io/overloaded', value: 'true', effect: 'NoExecute' };

export interface NodeFaultContext {
  registry: CleanupRegistry;
  /** Path of the kubeconfig (journaled, so a later `edgechaos cleanup` can reach the cluster). */
  kubeconfig: string;
}

/** Cordon: no new pods on the node; revert uncordons. */
export async function cordon(ctx: NodeFaultContext, node: string): Promise<CleanupHandle> {
  const api = core(ctx.kubeconfig);
  const handle = ctx.registry.add('kube-cordon', `cordon node ${node}`, { kubeconfig: ctx.kubeconfig, node });
  try {
    await setUnschedulable(api, node, true);
  } catch (err) {
    handle.forget();
    throw explainKubeError(err, `cordon node ${node}`, '');
  }
  return handle;
}

/** Overload signal: a NoExecute taint evicts the node's pods (those without a matching toleration); revert removes it. */
export async function overload(
  ctx: NodeFaultContext,
  node: string,
  taint = OVERLOAD_TAINT,
): Promise<CleanupHandle> {
  const api = core(ctx.kubeconfig);
  const handle = ctx.registry.add('kube-taint', `taint node ${node} ${taint.key}:${taint.effect}`, {
    kubeconfig: ctx.kubeconfig,
    node,
    taint,
  });
  try {
    await setTaint(api, node, taint, true);
  } catch (err) {
    handle.forget();
    throw explainKubeError(err, `taint node ${node}`, '');
  }
  return handle;
}

/** Pod kill: delete with grace period 0 (the controller replaces it; nothing to revert). */
export async function killPod(kubeconfig: string, namespace: string, pod: string): Promise<void> {
  try {
    await core(kubeconfig).deleteNamespacedPod({ name: pod, namespace, gracePeriodSeconds: 0 });
  } catch (err) {
    if (!isGone(err)) throw explainKubeError(err, `kill pod ${namespace}/${pod}`, '');
  }
}

/**
 * The rescheduling check's "node overloaded" variant on any cluster: the overload taint makes
 * the node shed its pods; restore removes it and waits until the node is schedulable again.
 */
export function overloadDriver(ctx: NodeFaultContext): NodeLossDriver {
  const handles = new Map<string, CleanupHandle>();
  return {
    mechanism: `overload taint ${OVERLOAD_TAINT.key}:${OVERLOAD_TAINT.effect}`,
    lose: async (node) => {
      handles.set(node, await overload(ctx, node));
    },
    restore: async (node, o) => {
      await handles.get(node)?.revert();
      handles.delete(node);
      const api = core(ctx.kubeconfig);
      const signal = deadline(30_000, `taint removed from ${node}`, o?.signal);
      while ((await api.readNode({ name: node })).spec?.taints?.some((t) => t.key === OVERLOAD_TAINT.key))
        await sleep(100, signal);
    },
  };
}

/**
 * Drain: cordon, then evict (Eviction API, so PodDisruptionBudgets hold) every pod on the node that a
 * controller other than a DaemonSet owns; returns the cordon's handle (revert uncordons) and how many
 * pods were evicted.
 */
export async function drain(
  ctx: NodeFaultContext,
  node: string,
): Promise<{ handle: CleanupHandle; evicted: number }> {
  const handle = await cordon(ctx, node);
  const api = core(ctx.kubeconfig);
  try {
    const pods = await api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
    let evicted = 0;
    for (const p of pods.items) {
      const owners = p.metadata?.ownerReferences ?? [];
      if (owners.length === 0 || owners.some((o) => o.kind === 'DaemonSet') || p.metadata?.deletionTimestamp)
        continue;
      const name = p.metadata!.name!;
      const namespace = p.metadata!.namespace!;
      try {
        await api.createNamespacedPodEviction({
          name,
          namespace,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
        });
        evicted++;
      } catch (err) {
        if (!isGone(err)) throw explainKubeError(err, `evict pod ${namespace}/${name}`, '');
      }
    }
    return { handle, evicted };
  } catch (err) {
    await handle.revert().catch(() => undefined);
    throw err;
  }
}
