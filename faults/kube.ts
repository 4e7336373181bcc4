import { UsageError } from '../src/core/errors.ts';
import type { KubeAction } from './capabilities.ts';
import { nodeOf, Params } from './params.ts';
import type { FaultKind, FaultPlan, ResolvedFault } from './types.ts';

/**
 * Kubernetes-level faults, through the target's `kube` capability (the API, or the target's own way
 * of losing a node): the same catalogue, parse → pure plan → journaled steps as every other kind.
 *
 * - `node-loss` (needs `for`): the node stops answering — kwok stops its heartbeat (kube-local; the
 *   node's processes are frozen too), or its Kind container is stopped; the controllers taint it and
 *   evict its pods. Revert brings it back and waits until it is Ready and untainted.
 * - `cordon` (needs `for`): no new pods land on the node; revert uncordons.
 * - `drain` (needs `for`): cordon, then evict its pods (not DaemonSets') through the Eviction API.
 * - `overload` (needs `for`): the overload signal, a NoExecute taint: the node sheds its pods.
 * - `pod-kill` (instant): delete the workload's pods on the node with grace period 0.
 */

function needsDuration(fault: ResolvedFault): void {
  if (fault.durationMs === undefined || fault.durationMs <= 0)
    throw new UsageError(`fault ${fault.id} ${fault.kind} needs a duration ("for")`, {
      field: 'for',
      node: fault.node,
    });
}

function kubePlan(fault: ResolvedFault, kube: KubeAction, summary: string): FaultPlan {
  return {
    fault,
    summary,
    steps: [{ op: 'kube', node: fault.node, what: summary, kube }],
    onRevert: [],
  };
}

/** A kind with no params whose plan is one Kubernetes action held for the fault's duration. */
function heldKubeFault(
  kind: 'node-loss' | 'cordon' | 'drain' | 'overload',
  description: string,
  summary: (node: string) => string,
): FaultKind<Record<string, never>> {
  return {
    kind,
    needs: ['kube'],
    description,
    params: {},
    parse(raw, fault, ctx) {
      const ps = new Params(raw, fault);
      ps.done();
      nodeOf(fault, ctx);
      needsDuration(fault);
      if (kind === 'node-loss' && fault.node === 'cloud')
        throw new UsageError(
          `fault ${fault.id} node-loss of the cloud node would stop the hub: pick an edge`,
          {
            field: 'node',
            node: fault.node,
          },
        );
      return {};
    },
    plan: (_p, fault) => kubePlan(fault, { action: kind }, summary(fault.node)),
  };
}

export const nodeLoss = heldKubeFault(
  'node-loss',
  'the node stops answering (kwok heartbeat stopped + processes frozen on kube-local; docker stop on Kind); its pods are evicted',
  (n) => `node-loss ${n}`,
);

export const cordon = heldKubeFault(
  'cordon',
  'no new pods on the node (uncordoned on revert)',
  (n) => `cordon ${n}`,
);

export const drain = heldKubeFault(
  'drain',
  'cordon the node, then evict its pods through the Eviction API (DaemonSet pods stay)',
  (n) => `drain ${n}`,
);

export const overload = heldKubeFault(
  'overload',
  'the overload signal: a NoExecute taint edgechaos.io/overloaded, the node sheds its pods',
  (n) => `overload ${n} (NoExecute taint)`,
);

export interface PodKillParams {
  workload: string;
}

export const podKill: FaultKind<PodKillParams> = {
  kind: 'pod-kill',
  needs: ['kube'],
  description: "delete the workload's pods on the node, grace 0 (instant)",
  params: { workload: 'the Deployment whose pods die (default workload)' },
  parse(raw, fault, ctx) {
    const ps = new Params(raw, fault);
    const workload = ps.string('workload') ?? 'workload';
    ps.done();
    nodeOf(fault, ctx);
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(workload))
      ps.fail('workload', `must be a Deployment name, got "${workload}"`);
    if (fault.durationMs !== undefined)
      throw new UsageError(`fault ${fault.id} pod-kill is instant: remove "for"`, {
        field: 'for',
        node: fault.node,
      });
    return { workload };
  },
  plan: (p, fault) =>
    kubePlan(fault, { action: 'pod-kill', workload: p.workload }, `pod-kill ${p.workload} on ${fault.node}`),
};
