import { writeFileSync } from 'node:fs';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { abortReason, sleep } from '../core/deadline.ts';
import { nowMs } from '../targets/kube/object-store.ts';
import { DATA_SOURCE_LABEL, NEEDS_CLOUD_LABEL } from './keys.ts';
import { PodCreator } from './pod-creator.ts';
import type { PodTracker } from './pod-tracker.ts';
import type { Placement } from './quality.ts';
import type { Topology } from './topology.ts';

export const POD_CPU_MILLI = 100;
export const POD_MEMORY_BYTES = 64 * 2 ** 20;

export function benchPod(name: string, i: number, t: Topology, schedulerName: string): V1Pod {
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
          resources: { requests: { cpu: `${POD_CPU_MILLI}m`, memory: `${POD_MEMORY_BYTES}` } },
        },
      ],
      terminationGracePeriodSeconds: 0,
    },
  };
}

/** A recorded round: what a placement policy needs to be trained or replayed offline. */
export interface SchedulingTrace {
  kind: 'scheduling-trace';
  version: 1;
  scheduler: string;
  capacity: Topology['capacity'];
  nodes: Topology['nodes'];
  /** In creation order. */
  pods: { name: string; source: string; needsCloud: boolean; milliCPU: number; memory: number }[];
  /** In binding order. */
  placements: { pod: string; node: string }[];
}

export function writeTrace(
  file: string,
  t: Topology,
  scheduler: string,
  pods: V1Pod[],
  placements: Placement[],
): void {
  const trace: SchedulingTrace = {
    kind: 'scheduling-trace',
    version: 1,
    scheduler,
    capacity: t.capacity,
    nodes: t.nodes,
    pods: pods.map((p) => {
      const labels = p.metadata!.labels!;
      return {
        name: p.metadata!.name!,
        source: labels[DATA_SOURCE_LABEL]!,
        needsCloud: labels[NEEDS_CLOUD_LABEL] === 'true',
        milliCPU: POD_CPU_MILLI,
        memory: POD_MEMORY_BYTES,
      };
    }),
    placements: placements.map((x) => ({ pod: x.pod, node: x.node })),
  };
  writeFileSync(file, JSON.stringify(trace) + '\n');
}

/** Run `fn` over `items` with at most `n` in flight. */
export async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Create `specs` with at most `concurrency` calls in flight; with `rate`, pod i is not sent
 * before start + i/rate (open loop: the schedule does not wait for the scheduler). Returns the
 * first and last send times.
 */
export async function createPods(
  creator: PodCreator,
  tracker: PodTracker,
  specs: readonly V1Pod[],
  concurrency: number,
  rate: number | undefined,
  signal: AbortSignal,
): Promise<{ first: number; last: number }> {
  const bodies = PodCreator.serialise(specs);
  const start = nowMs();
  let first = Infinity;
  let last = 0;
  let inFlight = 0;
  let failure: unknown;
  const slots: (() => void)[] = [];
  const calls: Promise<void>[] = [];
  for (let i = 0; i < specs.length && failure === undefined; i++) {
    if (rate !== undefined) {
      const wait = start + (i * 1000) / rate - nowMs();
      if (wait > 0) await sleep(wait, signal);
    }
    while (inFlight >= concurrency) await new Promise<void>((r) => slots.push(r));
    if (signal.aborted) throw abortReason(signal);
    inFlight++;
    const name = specs[i]!.metadata!.name!;
    calls.push(
      creator
        .create(tracker.namespace, bodies[i]!, (at) => {
          tracker.sent(name, at);
          first = Math.min(first, at);
          last = Math.max(last, at);
        })
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => {
          inFlight--;
          slots.shift()?.();
        }),
    );
  }
  await Promise.all(calls);
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
  return { first, last };
}

export async function ensureNamespace(api: CoreV1Api, name: string): Promise<void> {
  await api.createNamespace({ body: { metadata: { name } } }).catch((e: unknown) => {
    if ((e as { code?: number }).code !== 409) throw e;
  });
}
