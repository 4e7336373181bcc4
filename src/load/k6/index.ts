/**
 * k6's `k6` module for edgechaos load scripts: `check`, `sleep`, `group`, `fail`, and the globals
 * `__ENV`, `__VU`, `__ITER`. The one difference from k6: what takes time returns a Promise —
 * `await sleep(1)`, `await http.get(...)`, `await group('x', async () => {...})`.
 */
import { seededRandom } from '../rng.ts';
import { IterationInterrupted, runtime } from '../runtime.ts';

declare global {
  /** The run's environment (k6's __ENV): the runner's environment plus the scenario's `env`. */
  var __ENV: Record<string, string>;
  /** The current VU's id, 1-based; 0 in setup/teardown (k6's __VU). */
  var __VU: number;
  /** The current VU's iteration number, 0-based (k6's __ITER). */
  var __ITER: number;
}

export type Checkers<T> = Record<string, (value: T) => unknown>;

/** k6 `check(value, { name: (v) => boolean })`: records each as a pass/fail; true when all pass. */
export function check<T>(value: T, sets: Checkers<T>, tags?: Record<string, string>): boolean {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    const ok = Boolean(typeof fn === 'function' ? fn(value) : fn);
    runtime.check(name, ok, tags);
    if (!ok) all = false;
  }
  return all;
}

/** k6 `sleep(seconds)`, awaited. An interrupted iteration's sleep rejects (the iteration stops). */
export function sleep(seconds: number): Promise<void> {
  const signal = runtime.current()?.signal;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new IterationInterrupted());
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new IterationInterrupted());
    };
    const t = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, seconds * 1000),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** k6 `group(name, fn)`: requests and checks inside carry the group tag; group_duration is recorded. */
export function group<T>(name: string, fn: () => T): T {
  const st = runtime.current();
  if (!st) return fn();
  const prev = st.group;
  const path = `${prev}::${name}`;
  st.group = path;
  const t0 = performance.now();
  const done = (): void => {
    st.group = prev;
    runtime.registry
      .get('group_duration')!
      .add(performance.now() - t0, { group: path, scenario: st.scenario?.name ?? '' });
  };
  let r: T;
  try {
    r = fn();
  } catch (e) {
    done();
    throw e;
  }
  if (r instanceof Promise) return r.finally(done) as T;
  done();
  return r;
}

/** k6 `fail(message)`: throws, so the iteration fails. */
export function fail(message?: string): never {
  throw new Error(message ?? 'fail() called');
}

/** k6 `randomSeed(n)`: makes Math.random repeatable (same seed, same sequence) for the whole run. */
export function randomSeed(seed: number): void {
  Math.random = seededRandom(seed);
}
