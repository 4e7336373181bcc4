import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Dispatcher } from 'undici';
import type { Killable, VuConnections } from './http-client.ts';
import { Registry } from './metrics.ts';
import type { PlannedScenario } from './schedule.ts';
import type { Sample, WriteOutcome } from './types.ts';

/**
 * The state the k6-style API (src/load/k6/*) works on, one per runner process: the current VU (an
 * AsyncLocalStorage store, since iterations of many VUs interleave on one event loop), the metrics
 * registry, the samples stream and the HTTP agent.
 */
export interface VuState {
  /** VU id in the test, 1-based (k6's __VU); 0 in setup/teardown. */
  vu: number;
  /** Iteration of this VU (k6's __ITER). */
  iter: number;
  iterInScenario: number;
  scenario: PlannedScenario | undefined;
  env: Record<string, string>;
  /** Scenario tags and options.tags (the scenario name is added as `scenario`). */
  tags: Record<string, string>;
  /** Group path: '' at the root, '::a::b' inside group a › b (k6's format). */
  group: string;
  /** performance.now() the iteration should have started at (arrival-rate) or started at. */
  intendedStart: number;
  /** arrival-rate: the iteration's first request has not been made yet (it gets the lag). */
  firstRequest: boolean;
  /** Aborted when the iteration must stop (gracefulStop expired, run aborted). */
  signal: AbortSignal;
  /** Abort functions of this VU's requests in flight (called when `signal` aborts). */
  killers?: Set<Killable>;
  /** Cache of the sample tags that come from `tags` (set by the http module). */
  extraTags?: Record<string, string> | undefined;
  /** The VU's own connections (none in setup/teardown: the shared agent is used). */
  http?: VuConnections;
  /** Requests of this VU in flight (the first goes on `http`, concurrent ones on the shared agent). */
  httpBusy?: number;
  /** Cache of the constant head of this VU's last `http` sample line (set by the http module). */
  lineHead?: { scenario: string; method: string; name: string; node: string | undefined; text: string };
}

/** Thrown into an iteration that was interrupted (by gracefulStop, ramp-down or an abort). */
export class IterationInterrupted extends Error {
  constructor() {
    super('iteration interrupted');
    this.name = 'IterationInterrupted';
  }
  /** Also true for an instance from another copy of this module (see `runtime`). */
  static is(e: unknown): boolean {
    return e instanceof Error && e.name === 'IterationInterrupted';
  }
}

/** Buffered appender of JSON lines: one write(2) per 64 KiB or per flush interval, never whole-file. */
export class SampleWriter {
  private buf = '';
  private fd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Lines written so far (a streamed runner announces it, so a reader can tell none was lost). */
  lines = 0;
  constructor(file: string | undefined, flushMs = 200) {
    if (file) {
      this.fd = openSync(file, 'a', 0o600);
      this.timer = setInterval(() => this.flush(), flushMs);
      this.timer.unref();
    }
  }
  line(s: string): void {
    if (this.fd === undefined) return;
    this.lines++;
    this.buf += s + '\n';
    if (this.buf.length >= 1 << 16) this.flush();
  }
  emit(s: Sample): void {
    this.line(JSON.stringify(s));
  }
  flush(): void {
    if (this.fd === undefined || this.buf.length === 0) return;
    const b = this.buf;
    this.buf = '';
    writeSync(this.fd, b);
  }
  close(): void {
    this.flush();
    if (this.timer) clearInterval(this.timer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * The write history's outcome of a POST (what the sync checks trust):
 * - ok: a 2xx answer;
 * - failed: definitely not applied — the request never left, a 4xx, or a 503 (unavailable) or 507
 *   (insufficient storage: a full disk) that claims no side effect (its body does not echo the
 *   write's id, as an acknowledgement would);
 * - indeterminate: anything else (timeouts, resets, other 5xx): it may or may not
 *   have been applied.
 */
export function classifyWrite(
  r: { status: number; notSent: boolean; body: string },
  id: string,
): WriteOutcome {
  if (r.status >= 200 && r.status < 300) return 'ok';
  if (r.status === 0) return r.notSent ? 'failed' : 'indeterminate';
  if (r.status >= 400 && r.status < 500) return 'failed';
  if ((r.status === 503 || r.status === 507) && !r.body.includes(id)) return 'failed';
  return 'indeterminate';
}

class Runtime {
  readonly als = new AsyncLocalStorage<VuState>();
  registry = new Registry();
  out = new SampleWriter(undefined);
  agent: Dispatcher | undefined;
  /** The runner's clock origin (performance.now() at t = 0). */
  t0 = performance.now();
  env: Record<string, string> = { ...(process.env as Record<string, string>) };
  /** options.tags: added to every sample. */
  globalTags: Record<string, string> = {};
  /** Checks by group path, then by name (for the summary's group tree). */
  readonly checks = new Map<string, Map<string, { passes: number; fails: number }>>();
  /** Set by the runner; lets exec.test.abort() stop the run. */
  abortTest: (reason: string) => void = () => undefined;
  /** True when http metrics have tag-filtered submetrics (then each request builds its tag set). */
  httpTagged = false;

  now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  current(): VuState | undefined {
    return this.als.getStore();
  }

  /** Record a check result (k6: the `checks` rate metric, tagged with check/group/scenario). */
  check(name: string, ok: boolean, extra?: Record<string, string>): void {
    const st = this.current();
    const group = st?.group ?? '';
    let g = this.checks.get(group);
    if (!g) this.checks.set(group, (g = new Map<string, { passes: number; fails: number }>()));
    let c = g.get(name);
    if (!c) g.set(name, (c = { passes: 0, fails: 0 }));
    if (ok) c.passes++;
    else c.fails++;
    const scenario = st?.scenario?.name ?? '';
    this.out.emit({ type: 'check', t: this.now(), scenario, name, ok, ...(group ? { group } : {}) });
    const m = this.registry.get('checks')!;
    m.add(
      ok ? 1 : 0,
      m.subs.length ? { ...this.globalTags, ...st?.tags, ...extra, check: name, group, scenario } : undefined,
    );
  }
}

/**
 * One per process even when a script is loaded twice (a script outside the repository is compiled as
 * CommonJS by tsx, so its imports of these modules are separate instances).
 */
const KEY = Symbol.for('edgechaos.load.runtime');
export const runtime: Runtime =
  ((globalThis as Record<symbol, unknown>)[KEY] as Runtime | undefined) ?? new Runtime();
(globalThis as Record<symbol, unknown>)[KEY] = runtime;

// k6's globals, readable from a script's top level (init context) and from iterations.
for (const [name, get] of [
  ['__ENV', () => runtime.current()?.env ?? runtime.env],
  ['__VU', () => runtime.current()?.vu ?? 0],
  ['__ITER', () => runtime.current()?.iter ?? 0],
] as const) {
  Object.defineProperty(globalThis, name, { configurable: true, get });
}
