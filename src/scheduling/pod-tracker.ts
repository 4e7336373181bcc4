import { CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { abortReason } from '../core/deadline.ts';
import { logger } from '../core/logger.ts';
import { nowMs } from '../targets/kube/object-store.ts';

const log = logger('bench-scheduling');

/** One pod's creation and binding (ms since the epoch). */
export interface PodTimes {
  name: string;
  /** When its create request was sent (else: its ADDED event's arrival). */
  created: number;
  /** Arrival of the first watch event showing it bound. */
  watchedBound?: number;
  /** eventTime (µs) of its Scheduled event: the scheduler's clock right after the binding call returned. */
  eventBound?: number;
  node?: string;
}

/**
 * When a pod was bound on the harness's clock: its Scheduled event's time (the wall clock) less
 * `offsetMs` (wall clock − harness clock, see clock.ts), else when the watch showed it bound.
 */
export function boundAt(p: PodTimes, offsetMs = 0): number | undefined {
  return p.eventBound !== undefined ? p.eventBound - offsetMs : p.watchedBound;
}

/** RFC 3339 with up to nanoseconds → ms since the epoch with the sub-millisecond part kept. */
export function parseMicroTime(s: string): number | undefined {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return undefined;
  return whole + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

interface SchedEvent {
  reason?: string;
  eventTime?: string | Date;
  regarding?: { kind?: string; name?: string };
}

/**
 * Creation and binding times of the pods of one (fresh) namespace. Binding times come from the
 * schedulers' own Scheduled events (events.k8s.io/v1 eventTime, microseconds, taken right after
 * the binding call returned), not from when a watch event reached the harness: on a busy 2-core
 * machine the harness's event loop sometimes ran late and got a pod's ADDED and bound events in
 * one chunk (a 0.2 ms "latency"), or late by tens of ms. The pod watch still counts bound pods
 * (and is the fallback time for a pod whose event was lost) and deletions. O(1) work per event
 * — a cache that re-scans every pod on every event (ObjectStore.waitFor) costs O(pods²) over a
 * 10,000-pod round. A pod watch that ends is re-listed and resumed.
 */
export class PodTracker {
  readonly pods = new Map<string, PodTimes>();
  boundCount = 0;
  deletedCount = 0;
  /** Pods whose Scheduled event arrived. */
  eventCount = 0;
  /** Pods that exist as far as the watch knows. */
  private readonly live = new Set<string>();
  private abort: AbortController | undefined;
  private abortEvents: AbortController | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  private constructor(
    private readonly kc: KubeConfig,
    readonly namespace: string,
  ) {}

  static async start(kc: KubeConfig, namespace: string): Promise<PodTracker> {
    const t = new PodTracker(kc, namespace);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`watching pods in ${namespace}: not started in 30 s`)),
        30_000,
      );
    });
    try {
      await Promise.race([t.startWatches(), late]);
    } catch (err) {
      t.stop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return t;
  }

  private async startWatches(): Promise<void> {
    await this.watchEvents();
    await this.listAndWatch();
  }

  private entry(name: string, at: number): PodTimes {
    let p = this.pods.get(name);
    if (!p) {
      p = { name, created: at };
      this.pods.set(name, p);
    }
    return p;
  }

  /** The create request for `name` was sent at `at`. */
  sent(name: string, at: number): void {
    this.entry(name, at).created = at;
  }

  /** Scheduled events from now on (the namespace is fresh: none are missed). */
  private async watchEvents(): Promise<void> {
    this.abortEvents = await new Watch(this.kc).watch(
      `/apis/events.k8s.io/v1/namespaces/${this.namespace}/events`,
      {},
      (type: string, e: SchedEvent) => {
        if (type !== 'ADDED' || e.reason !== 'Scheduled' || e.regarding?.kind !== 'Pod') return;
        const name = e.regarding.name;
        const t =
          e.eventTime instanceof Date ? e.eventTime.getTime() : parseMicroTime(String(e.eventTime ?? ''));
        if (!name || t === undefined) return;
        const p = this.entry(name, t);
        if (p.eventBound === undefined) this.eventCount++;
        p.eventBound = t;
        this.notify();
      },
      (err: unknown) => {
        if (this.stopped) return;
        // Resume; a pod whose Scheduled event came in between falls back to its watched binding.
        log.debug(`event watch in ${this.namespace} ended (${String(err)}); watching again`);
        this.watchEvents().catch((e: unknown) => {
          this.failure = e instanceof Error ? e : new Error(String(e));
          this.notify();
        });
      },
    );
  }

  private see(pod: V1Pod, at: number): void {
    const name = pod.metadata?.name;
    if (!name) return;
    this.live.add(name);
    const p = this.entry(name, at);
    if (p.watchedBound === undefined && pod.spec?.nodeName) {
      p.watchedBound = at;
      p.node = pod.spec.nodeName;
      this.boundCount++;
    }
  }

  private async listAndWatch(): Promise<void> {
    const api = this.kc.makeApiClient(CoreV1Api);
    const list = await api.listNamespacedPod({ namespace: this.namespace });
    const at = nowMs();
    // Pods deleted while no watch was open (it ended, this is the re-list): count them now.
    const listed = new Set(list.items.map((p) => p.metadata?.name));
    for (const name of this.live)
      if (!listed.has(name)) {
        this.live.delete(name);
        this.deletedCount++;
      }
    for (const pod of list.items) this.see(pod, at);
    this.notify();
    this.abort = await new Watch(this.kc).watch(
      `/api/v1/namespaces/${this.namespace}/pods`,
      { resourceVersion: list.metadata?.resourceVersion ?? '', allowWatchBookmarks: true },
      (type: string, pod: V1Pod) => {
        const at = nowMs();
        if (type === 'ADDED' || type === 'MODIFIED') this.see(pod, at);
        else if (type === 'DELETED' && this.live.delete(pod.metadata?.name ?? '')) this.deletedCount++;
        this.notify();
      },
      (err: unknown) => {
        if (this.stopped) return;
        log.debug(`pod watch in ${this.namespace} ended (${String(err)}); re-listing`);
        this.listAndWatch().catch((e: unknown) => {
          this.failure = e instanceof Error ? e : new Error(String(e));
          this.notify();
        });
      },
    );
  }

  private notify(): void {
    this.waiter?.();
  }

  /**
   * Resolve true once `holds()` is true (checked after every event; keep it O(1)), or false
   * after `timeoutMs` if given.
   */
  until(holds: () => boolean, signal: AbortSignal, timeoutMs?: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (f: () => void): void => {
        this.waiter = undefined;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        f();
      };
      const onAbort = (): void => done(() => reject(abortReason(signal)));
      const check = (): void => {
        if (this.failure) done(() => reject(this.failure!));
        else if (holds()) done(() => resolve(true));
      };
      if (signal.aborted) return reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => done(() => resolve(false)), timeoutMs);
      this.waiter = check;
      check();
    });
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.abortEvents?.abort();
  }
}
