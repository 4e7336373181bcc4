import { TimeoutError } from './errors.ts';

/** Sleep that ends early (rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new TimeoutError(typeof r === 'string' ? r : 'aborted');
}

/** A signal that aborts when the parent aborts or after `ms`, with a TimeoutError naming `what`. */
export function deadline(ms: number, what: string, parent?: AbortSignal): AbortSignal {
  const timer = AbortSignal.timeout(ms);
  const mapped = new AbortController();
  const onTimeout = (): void => mapped.abort(new TimeoutError(`${what}: no result within ${ms} ms`));
  timer.addEventListener('abort', onTimeout, { once: true });
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
