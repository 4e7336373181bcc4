import type { PodLatency, Quantiles } from '../../checks/kube-evidence.ts';
import type { V1Pod } from '@kubernetes/client-node';
import { percentile } from '../../load/summary.ts';
import type { TimedEvent } from './object-store.ts';

/** When the harness first saw a pod created, bound to a node, and Ready (watch arrival times, ms). */
export interface PodTimeline {
  uid: string;
  name: string;
  node?: string;
  created: number;
  scheduled?: number;
  ready?: number;
}

export function quantiles(values: readonly number[]): Quantiles {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { count: s.length, p50: r(percentile(s, 50)), p99: r(percentile(s, 99)), max: r(s.at(-1) ?? 0) };
}

export function isPodReady(p: V1Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function isScheduled(p: V1Pod): boolean {
  return (
    !!p.spec?.nodeName ||
    (p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True') ?? false)
  );
}

/**
 * Pure: per-pod timelines from watch events, for pods whose creation the watch saw (an ADDED event
 * of a pod not yet bound). Millisecond arrival times, not the API's second-granular timestamps.
 */
export function podTimelines(events: readonly TimedEvent<V1Pod>[]): PodTimeline[] {
  const byUid = new Map<string, PodTimeline>();
  for (const e of events) {
    const uid = e.object.metadata?.uid;
    if (!uid) continue;
    let t = byUid.get(uid);
    if (!t) {
      if (e.type !== 'ADDED' || isScheduled(e.object)) continue; // created before we watched
      t = { uid, name: e.object.metadata?.name ?? uid, created: e.at };
      byUid.set(uid, t);
    }
    if (t.scheduled === undefined && isScheduled(e.object)) {
      t.scheduled = e.at;
      t.node = e.object.spec?.nodeName;
    }
    if (t.ready === undefined && isPodReady(e.object)) t.ready = e.at;
  }
  return [...byUid.values()];
}

/** Like kube-burner's podLatency: created→scheduled, scheduled→ready, created→ready. */

export function podLatency(timelines: readonly PodTimeline[]): PodLatency {
  const sched = timelines.filter((t) => t.scheduled !== undefined);
  const ready = timelines.filter((t) => t.ready !== undefined);
  const first = Math.min(...timelines.map((t) => t.created));
  const last = Math.max(...sched.map((t) => t.scheduled!));
  const perNode: Record<string, number> = {};
  for (const t of sched) if (t.node) perNode[t.node] = (perNode[t.node] ?? 0) + 1;
  return {
    pods: timelines.length,
    createdToScheduled: quantiles(sched.map((t) => t.scheduled! - t.created)),
    scheduledToReady: quantiles(
      ready.filter((t) => t.scheduled !== undefined).map((t) => t.ready! - t.scheduled!),
    ),
    createdToReady: quantiles(ready.map((t) => t.ready! - t.created)),
    scheduledPerSecond:
      sched.length > 1 && last > first ? Math.round((sched.length / ((last - first) / 1000)) * 10) / 10 : 0,
    perNode,
  };
}

export type { PodLatency, Quantiles } from '../../checks/kube-evidence.ts';
