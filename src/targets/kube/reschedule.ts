import type { RescheduleResult, RescheduleTrial } from '../../checks/kube-evidence.ts';
import type { KubeConfig, V1Deployment, V1Node, V1Pod } from '@kubernetes/client-node';
import { AppsV1Api } from '@kubernetes/client-node';
import { deadline, sleep } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { nowMs, ObjectStore } from './object-store.ts';
import { isPodReady, quantiles } from './pod-latency.ts';

const log = logger('reschedule');

/** How a target takes a node away and gives it back (kwok heartbeat, `docker stop` of a Kind node, …). */
export interface NodeLossDriver {
  readonly mechanism: string;
  lose(node: string): Promise<void>;
  /** Resolves once the node is back, Ready and untainted. */
  restore(node: string, opts?: { signal?: AbortSignal }): Promise<void>;
}

export interface RescheduleOptions {
  kc: KubeConfig;
  namespace: string;
  /** Deployment whose pods are watched (default "workload"). */
  workload?: string;
  driver: NodeLossDriver;
  trials: number;
  /** Only nodes with this label value are candidates (default edgechaos.io/role=edge). */
  candidateSelector?: { label: string; value: string };
  /** Per trial: loss → replacements Ready (default 120 s). */
  trialTimeoutMs?: number;
  signal?: AbortSignal;
  /** Called after each completed trial (so a later failure still leaves the earlier ones). */
  onTrial?: (t: RescheduleTrial) => void;
}

function hasLossTaint(n: V1Node): boolean {
  return (n.spec?.taints ?? []).some(
    (t) =>
      t.effect === 'NoExecute' &&
      ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].includes(t.key),
  );
}

/** Pure: pick the candidate node hosting the most Ready workload pods (ties: not the last victim, then name). */
export function pickVictim(
  pods: readonly V1Pod[],
  candidates: readonly string[],
  lastVictim?: string,
): { node: string; pods: number } | undefined {
  const count = new Map<string, number>();
  for (const p of pods) {
    const n = p.spec?.nodeName;
    if (n && candidates.includes(n) && isPodReady(p) && !p.metadata?.deletionTimestamp)
      count.set(n, (count.get(n) ?? 0) + 1);
  }
  const ranked = [...count.entries()].sort(
    (a, b) =>
      b[1] - a[1] || Number(a[0] === lastVictim) - Number(b[0] === lastVictim) || a[0].localeCompare(b[0]),
  );
  const top = ranked[0];
  return top ? { node: top[0], pods: top[1] } : undefined;
}

/** Pure: every wanted replica is Ready, not terminating, on a node other than `lost`. */
export function replicasReadyElsewhere(pods: readonly V1Pod[], lost: string, replicas: number): boolean {
  return (
    pods.filter(
      (p) => isPodReady(p) && !p.metadata?.deletionTimestamp && p.spec?.nodeName && p.spec.nodeName !== lost,
    ).length >= replicas
  );
}

/**
 * The rescheduling check's measurement: N times, lose the node hosting the most workload pods and
 * time (from watch arrival times) until every replica is Ready on other nodes; then give the
 * node back and let the workload settle before the next trial.
 */
export async function measureRescheduling(opts: RescheduleOptions): Promise<RescheduleResult> {
  const workload = opts.workload ?? 'workload';
  const sel = opts.candidateSelector ?? { label: 'edgechaos.io/role', value: 'edge' };
  const apps = opts.kc.makeApiClient(AppsV1Api);
  let deployment: V1Deployment;
  try {
    deployment = await apps.readNamespacedDeployment({ name: workload, namespace: opts.namespace });
  } catch (err) {
    throw new TargetError(`rescheduling: Deployment ${opts.namespace}/${workload} not found`, { cause: err });
  }
  const replicas = deployment.spec?.replicas ?? 1;
  const labelSelector = Object.entries(deployment.spec?.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  using pods = await ObjectStore.start<V1Pod>(opts.kc, {
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespace: opts.namespace,
    labelSelector,
  });
  using nodes = await ObjectStore.start<V1Node>(opts.kc, { apiVersion: 'v1', kind: 'Node', plural: 'nodes' });

  /** What the watches last saw, for an error that says why a wait ran out. */
  const state = (): string => {
    const ps = [...pods.objects.values()]
      .map(
        (p) =>
          `${p.metadata?.name}@${p.spec?.nodeName ?? '-'}${isPodReady(p) ? '' : ' not-ready'}${p.metadata?.deletionTimestamp ? ' terminating' : ''}`,
      )
      .sort();
    const ns = [...nodes.objects.values()]
      .map((n) => {
        const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '?';
        const taints = (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).join('+');
        return `${n.metadata?.name} Ready=${ready}${taints ? ` ${taints}` : ''}${n.spec?.unschedulable ? ' cordoned' : ''}`;
      })
      .sort();
    return `pods [${ps.join(', ')}]; nodes [${ns.join(', ')}]`;
  };
  const explained = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      throw new TargetError(`rescheduling: ${(err as Error).message}; ${state()}`, { cause: err });
    });

  const trials: RescheduleTrial[] = [];
  let last: string | undefined;
  for (let i = 0; i < opts.trials; i++) {
    const settle = deadline(120_000, `workload ${workload} settled before trial ${i + 1}`, opts.signal);
    // Settled: exactly `replicas` pods, all Ready, none terminating; candidate nodes healthy.
    await explained(
      pods.waitFor(
        (items) =>
          items.length === replicas && items.every((p) => isPodReady(p) && !p.metadata?.deletionTimestamp),
        settle,
      ),
    );
    const candidates = [...nodes.objects.values()]
      .filter((n) => n.metadata?.labels?.[sel.label] === sel.value && !hasLossTaint(n))
      .map((n) => n.metadata!.name!);
    const victim = pickVictim([...pods.objects.values()], candidates, last);
    if (!victim)
      throw new TargetError(`rescheduling: no ${sel.label}=${sel.value} node hosts a Ready ${workload} pod`);
    if (candidates.length < 2)
      throw new TargetError(
        `rescheduling needs at least two ${sel.label}=${sel.value} nodes, found ${candidates.length}`,
      );

    const signal = deadline(
      opts.trialTimeoutMs ?? 120_000,
      `trial ${i + 1}: ${workload} rescheduled off ${victim.node}`,
      opts.signal,
    );
    const lostAt = nowMs();
    const nodeEvents = nodes.events.length;
    const podEvents = pods.events.length;
    await opts.driver.lose(victim.node);
    try {
      const readyAt = await explained(
        pods.waitFor((items) => replicasReadyElsewhere(items, victim.node, replicas), signal),
      );
      const taint = nodes.events
        .slice(nodeEvents)
        .find((e) => e.object.metadata?.name === victim.node && hasLossTaint(e.object));
      const evict = pods.events
        .slice(podEvents)
        .find((e) => e.object.spec?.nodeName === victim.node && e.object.metadata?.deletionTimestamp);
      const replacementNodes = [...pods.objects.values()]
        .filter((p) => isPodReady(p) && !p.metadata?.deletionTimestamp && p.spec?.nodeName !== victim.node)
        .map((p) => p.spec!.nodeName!)
        .sort();
      const trial: RescheduleTrial = {
        node: victim.node,
        podsOnNode: victim.pods,
        detectedMs: taint ? Math.round(taint.at - lostAt) : undefined,
        evictedMs: evict ? Math.round(evict.at - lostAt) : undefined,
        rescheduledMs: Math.round(readyAt - lostAt),
        replacementNodes: [...new Set(replacementNodes)],
      };
      trials.push(trial);
      opts.onTrial?.(trial);
      log.info(
        `trial ${i + 1}/${opts.trials}: ${victim.node} (${victim.pods} pods) lost → rescheduled in ${trial.rescheduledMs} ms (detected ${trial.detectedMs ?? '?'} ms, evicted ${trial.evictedMs ?? '?'} ms)`,
      );
    } finally {
      await opts.driver.restore(victim.node, { signal: opts.signal });
    }
    last = victim.node;
    await sleep(0);
  }
  return {
    workload,
    namespace: opts.namespace,
    mechanism: opts.driver.mechanism,
    trials,
    rescheduled: quantiles(trials.map((t) => t.rescheduledMs)),
    detected: quantiles(trials.flatMap((t) => (t.detectedMs === undefined ? [] : [t.detectedMs]))),
  };
}

export type { RescheduleResult, RescheduleTrial } from '../../checks/kube-evidence.ts';
