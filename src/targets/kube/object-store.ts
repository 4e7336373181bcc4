import { KubernetesObjectApi, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { abortReason } from '../../core/deadline.ts';
import { logger } from '../../core/logger.ts';

const log = logger('kube-watch');

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A watch event with its arrival time (ms since the epoch, sub-millisecond resolution). */
export interface TimedEvent<T> {
  type: WatchEventType;
  object: T;
  at: number;
}

/** Wall-clock milliseconds with the monotonic clock's resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** What to list and watch: core resources have apiVersion "v1", others "group/version". */
export interface ResourceRef {
  apiVersion: string;
  kind: string;
  /** Lower-case plural as in the URL (pods, nodes, deployments). */
  plural: string;
  namespace?: string;
  labelSelector?: string;
}

export function watchPath(r: ResourceRef): string {
  const base = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return `${base}${r.namespace ? `/namespaces/${r.namespace}` : ''}/${r.plural}`;
}

/**
 * A list+watch cache of one resource path (e.g. /api/v1/namespaces/x/pods) that keeps every
 * watch event with its arrival time; `waitFor` resolves with the arrival time of the event after
 * which a predicate over the cache first held. Re-lists and re-watches if the watch ends.
 */
export class ObjectStore<T extends KubernetesObject> {
  readonly objects = new Map<string, T>();
  readonly events: TimedEvent<T>[] = [];
  /** When the initial list arrived; objects listed then have no ADDED event here. */
  listedAt = 0;
  private abort: AbortController | undefined;
  private stopped = false;
  private waiters = new Set<() => void>();
  private failure: Error | undefined;

  readonly path: string;
  private readonly api: KubernetesObjectApi;

  private constructor(
    private readonly kc: KubeConfig,
    readonly ref: ResourceRef,
  ) {
    this.path = watchPath(ref);
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  static async start<T extends KubernetesObject>(kc: KubeConfig, ref: ResourceRef): Promise<ObjectStore<T>> {
    const s = new ObjectStore<T>(kc, ref);
    await s.listAndWatch();
    return s;
  }

  private key(o: T): string {
    return o.metadata?.uid ?? `${o.metadata?.namespace}/${o.metadata?.name}`;
  }

  private async list(): Promise<string> {
    const r = this.ref;
    const body = await this.api.list<T>(
      r.apiVersion,
      r.kind,
      r.namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      r.labelSelector,
    );
    this.listedAt = nowMs();
    this.objects.clear();
    for (const o of body.items) this.objects.set(this.key(o), o);
    return body.metadata?.resourceVersion ?? '';
  }

  private async listAndWatch(): Promise<void> {
    const rv = await this.list();
    this.notify();
    this.abort = await new Watch(this.kc).watch(
      this.path,
      {
        resourceVersion: rv,
        allowWatchBookmarks: true,
        ...(this.ref.labelSelector ? { labelSelector: this.ref.labelSelector } : {}),
      },
      (type: string, obj: T) => {
        const at = nowMs();
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
        if (type === 'DELETED') this.objects.delete(this.key(obj));
        else this.objects.set(this.key(obj), obj);
        this.events.push({ type, object: obj, at });
        this.notify();
      },
      (err: unknown) => {
        if (this.stopped) return;
        log.debug(
          `watch ${this.path} ended (${err instanceof Error ? err.message : String(err)}); re-listing`,
        );
        this.listAndWatch().catch((e: unknown) => {
          this.failure = e instanceof Error ? e : new Error(String(e));
          this.notify();
        });
      },
    );
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolve with the arrival time of the event after which `holds()` became true (the latest event's, if it already holds). */
  waitFor(holds: (objects: T[]) => boolean, signal: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.failure) return finish(() => reject(this.failure!));
        let ok = false;
        try {
          ok = holds([...this.objects.values()]);
        } catch (err) {
          return finish(() => reject(err instanceof Error ? err : new Error(String(err))));
        }
        if (ok) finish(() => resolve(this.events.at(-1)?.at ?? this.listedAt));
      };
      const onAbort = (): void => finish(() => reject(abortReason(signal)));
      const finish = (f: () => void): void => {
        this.waiters.delete(check);
        signal.removeEventListener('abort', onAbort);
        f();
      };
      if (signal.aborted) return reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(check);
      check();
    });
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.notify();
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}
