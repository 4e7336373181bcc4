import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { CleanupRegistry } from '../../core/cleanup/registry.ts';
import { UsageError } from '../../core/errors.ts';
import { cordon, drain, killPod, overload } from './node-faults.ts';
import type { NodeLossDriver } from './reschedule.ts';

/**
 * Kubernetes-level faults a campaign can schedule on a kube target (`kube-local`, `kube`, `kind`),
 * beside the node-level catalogue (faults/): they act through the API, or through the target's
 * node-loss mechanism.
 *
 * - `node-loss` (needs `for`): the node stops answering — kwok stops its heartbeat (kube-local; the
 *   node's processes are frozen too), or its Kind container is stopped; the controllers taint it
 *   and evict its pods. Revert brings it back and waits until it is Ready and untainted.
 * - `cordon` (needs `for`): no new pods land on the node; revert uncordons.
 * - `drain` (needs `for`): cordon, then evict its pods (not DaemonSets') through the Eviction API.
 * - `overload` (needs `for`): the overload signal, a NoExecute taint: the node sheds its pods.
 * - `pod-kill` (instant): delete the workload's pods on the node with grace period 0.
 */
export const kubeFaultKinds = ['node-loss', 'cordon', 'drain', 'overload', 'pod-kill'] as const;
export type KubeFaultKind = (typeof kubeFaultKinds)[number];

export function isKubeFault(kind: string): kind is KubeFaultKind {
  return (kubeFaultKinds as readonly string[]).includes(kind);
}

export interface KubeFaultSpec {
  id: string;
  kind: string;
  node: string;
  durationMs: number | undefined;
  params: Record<string, unknown>;
}

/** Pure validation (before anything is deployed): params and durations of a Kubernetes-level fault. */
export function validateKubeFault(f: KubeFaultSpec, target: string): void {
  if (!isKubeFault(f.kind)) throw new UsageError(`fault ${f.id}: "${f.kind}" is not a Kubernetes fault`);
  const allowed = f.kind === 'pod-kill' ? ['workload'] : [];
  for (const k of Object.keys(f.params))
    if (!allowed.includes(k))
      throw new UsageError(
        `fault ${f.id} ${f.kind}: unknown param "${k}"${allowed.length ? ` (known: ${allowed.join(', ')})` : ' (it takes none)'}`,
        { field: `params.${k}` },
      );
  if (f.kind === 'pod-kill') {
    if (f.durationMs !== undefined)
      throw new UsageError(`fault ${f.id} pod-kill is instant: remove "for"`, { field: 'for' });
    const w = f.params['workload'];
    if (w !== undefined && (typeof w !== 'string' || !/^[a-z0-9][a-z0-9.-]*$/.test(w)))
      throw new UsageError(`fault ${f.id} pod-kill: workload must be a Deployment name`, {
        field: 'params.workload',
      });
  } else if (f.durationMs === undefined || f.durationMs <= 0) {
    throw new UsageError(`fault ${f.id} ${f.kind} needs a duration ("for") on target ${target}`, {
      field: 'for',
    });
  }
  if (f.node === 'cloud' && f.kind === 'node-loss')
    throw new UsageError(`fault ${f.id} node-loss of the cloud node would stop the hub: pick an edge`, {
      field: 'node',
    });
}

export interface KubeFaultContext {
  kc: KubeConfig;
  /** Journaled with cordon/taint entries so `edgechaos cleanup` reaches the cluster after a crash. */
  kubeconfig: string;
  namespace: string;
  registry: CleanupRegistry;
  nodeLoss: NodeLossDriver;
}

/** Apply a Kubernetes-level fault; the result's revert undoes it (idempotent). */
export async function applyKubeFault(
  f: KubeFaultSpec,
  ctx: KubeFaultContext,
): Promise<{ revert(): Promise<void> }> {
  const fctx = { registry: ctx.registry, kubeconfig: ctx.kubeconfig };
  switch (f.kind) {
    case 'node-loss': {
      await ctx.nodeLoss.lose(f.node);
      let done = false;
      return {
        revert: async () => {
          if (done) return;
          done = true;
          await ctx.nodeLoss.restore(f.node);
        },
      };
    }
    case 'cordon':
      return cordon(fctx, f.node);
    case 'drain':
      return (await drain(fctx, f.node)).handle;
    case 'overload':
      return overload(fctx, f.node);
    case 'pod-kill': {
      const workload = typeof f.params['workload'] === 'string' ? f.params['workload'] : 'workload';
      const pods = await ctx.kc.makeApiClient(CoreV1Api).listNamespacedPod({
        namespace: ctx.namespace,
        fieldSelector: `spec.nodeName=${f.node}`,
      });
      const victims = pods.items.filter((p) =>
        (p.metadata?.ownerReferences ?? []).some(
          (o) => o.kind === 'ReplicaSet' && o.name.startsWith(`${workload}-`),
        ),
      );
      for (const p of victims) await killPod(ctx.kubeconfig, ctx.namespace, p.metadata!.name!);
      return { revert: () => Promise.resolve() };
    }
    default:
      throw new UsageError(`fault ${f.id}: "${f.kind}" is not a Kubernetes fault`);
  }
}
