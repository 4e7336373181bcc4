import { TimeoutError } from './errors.ts';

/**
 * Node's timers hold a signed 32-bit millisecond count: a delay of 2^31 ms or more fires after 1 ms.
 * Longer waits are split into chunks no longer than this.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Sleep of at least `ms` (by performance.now()) that ends early (rejecting) when the signal aborts;
 * waits of any length (chunked timers).
 * `unref`: the wait alone does not keep the process alive (as AbortSignal.timeout's timer).
 */
export function sleep(ms: number, signal?: AbortSignal, opts: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const end = performance.now() + Math.max(0, ms);
    let t: NodeJS.Timeout;
    const arm = (): void => {
      const left = end - performance.now();
      t = setTimeout(
        () => {
          // Node arms timers from libuv's cached loop time, so one can fire up to ~1 ms before
          // `ms` has passed by performance.now(); chunks of a long wait end early too: re-arm.
          if (end - performance.now() > 0) return arm();
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.min(Math.max(0, left), MAX_TIMER_MS),
      );
      if (opts.unref) t.unref();
    };
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    arm();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new TimeoutError(typeof r === 'string' ? r : 'aborted');
}

/** A signal that aborts when the parent aborts or after `ms`, with a TimeoutError naming `what`. */
export function deadline(ms: number, what: string, parent?: AbortSignal): AbortSignal {
  const mapped = new AbortController();
  const onTimeout = (): void => mapped.abort(new TimeoutError(`${what}: no result within ${ms} ms`));
  if (ms <= MAX_TIMER_MS) {
    AbortSignal.timeout(ms).addEventListener('abort', onTimeout, { once: true });
  } else {
    // beyond a timer's range: a chunked sleep, ended early when the parent aborts
    sleep(ms, parent, { unref: true }).then(onTimeout, () => undefined);
  }
  return parent ? AbortSignal.any([parent, mapped.signal]) : mapped.signal;
}

/** Poll `probe` until it returns a value other than undefined, or the signal aborts. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  opts: { signal: AbortSignal; intervalMs?: number },
): Promise<T> {
  const interval = opts.intervalMs ?? 20;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(interval, opts.signal);
  }
}
