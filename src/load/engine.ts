import { writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { createAgent, VuConnections } from './http-client.ts';
import { DEFAULT_TREND_STATS, Registry } from './metrics.ts';
import { IterationInterrupted, runtime, SampleWriter, type VuState } from './runtime.ts';
import { arrivalTimes, maxVus, planScenarios, vuTarget, type PlannedScenario } from './schedule.ts';
import { parseThresholds, type ParsedThreshold } from './thresholds.ts';
import type { GroupSummary, LoadScript, SummaryData, ThresholdResult } from './types.ts';

/**
 * The load engine: runs a k6-style script's scenarios (six executors) on one event loop, with
 * setup/teardown, live thresholds (abortOnFail), the end-of-test summary and handleSummary.
 * One test at a time per process (the k6 API works on the process's `runtime`).
 */
export interface EngineOptions {
  /** The script file (for error messages). */
  file: string;
  /** samples.jsonl to append to (none: no samples are written). */
  samplesFile?: string;
  /** Where handleSummary's relative file names are written (default: the working directory). */
  outDir?: string;
  /** The run's environment (k6's __ENV, on top of the process environment). */
  env?: Record<string, string>;
  /** Abort the run (SIGTERM): iterations stop, teardown and the summary still run. */
  signal?: AbortSignal;
  /** Live threshold evaluation period (k6: 2 s). */
  evalEveryMs?: number;
  log?: (line: string) => void;
}

export interface EngineResult {
  data: SummaryData;
  thresholds: ThresholdResult[];
  /** Why the run stopped early (threshold abortOnFail, test.abort(), signal). */
  aborted?: string;
  iterationErrors: number;
  droppedIterations: number;
}

/** Call before importing a script: a fresh metrics registry for the script's custom metrics. */
export function resetRuntime(): void {
  runtime.registry = new Registry();
  runtime.checks.clear();
  runtime.t0 = performance.now();
}

/** Set up the runtime before the script's top level runs (it may read __ENV). */
export function prepareRuntime(env: Record<string, string> = {}): void {
  runtime.env = { ...(process.env as Record<string, string>), ...env };
}

/** Wait until performance.now() reaches `at` or the signal fires; the listener is always removed. */
export function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  const ms = at - performance.now();
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** Resolves true when every promise settled within ms, false otherwise. */
async function settleWithin(ps: Iterable<Promise<unknown>>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    Promise.allSettled([...ps]).then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return ok;
}

/**
 * The arrival loop's clock: one timer at a time and one abort listener for the whole scenario (not
 * one per arrival: at 10k arrivals/s, adding and removing listeners was a visible cost).
 */
class Sleeper {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.fire(), { once: true });
  }
  private fire(): void {
    clearTimeout(this.timer);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  until(at: number): Promise<void> {
    const ms = at - performance.now();
    if (ms <= 0 || this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => this.fire(), ms);
    });
  }
}

let vuSeq = 0;

interface Vu {
  state: VuState;
  ctl: AbortController;
  /** Make `ctl` abort the VU's requests in flight (one listener per controller). */
  watch(c: AbortController): void;
}

class ScenarioRun {
  stopping = false;
  iter = 0;
  readonly inflight = new Set<Promise<void>>();
  readonly vus: Vu[] = [];
  errors = 0;
  dropped = 0;
  active = 0;
  constructor(
    readonly s: PlannedScenario,
    readonly fn: (data: unknown) => unknown,
    readonly data: unknown,
    readonly testAbort: AbortSignal,
    readonly log: (line: string) => void,
    readonly tags: Record<string, string>,
  ) {}

  newVu(): Vu {
    const ctl = new AbortController();
    const killers = new Set<(err: Error) => void>();
    const watch = (c: AbortController): void =>
      c.signal.addEventListener('abort', () => {
        for (const k of [...killers]) k(new Error('aborted'));
      });
    const env = Object.keys(this.s.env).length ? { ...runtime.env, ...this.s.env } : runtime.env;
    const v: Vu = {
      ctl,
      watch,
      state: {
        vu: ++vuSeq,
        iter: 0,
        iterInScenario: 0,
        scenario: this.s,
        env,
        tags: this.tags,
        group: '',
        intendedStart: 0,
        firstRequest: false,
        signal: ctl.signal,
        killers,
        http: new VuConnections(),
      },
    };
    watch(ctl);
    this.vus.push(v);
    runtime.registry.builtin.vus_max.add(vuSeq, undefined);
    return v;
  }

  /** Run one iteration on a VU; never rejects: an exception is a failed iteration, counted. */
  async iterate(v: Vu, intended?: number): Promise<void> {
    const st = v.state;
    if (st.signal.aborted) {
      v.ctl = new AbortController();
      st.signal = v.ctl.signal;
      v.watch(v.ctl);
    }
    const start = performance.now();
    st.intendedStart = intended ?? start;
    st.firstRequest = intended !== undefined;
    st.iterInScenario = this.iter++;
    st.group = '';
    this.active++;
    let interrupted = false;
    try {
      await runtime.als.run(st, this.fn, this.data);
    } catch (e) {
      if (IterationInterrupted.is(e) || st.signal.aborted) interrupted = true;
      else {
        this.errors++;
        const message = e instanceof Error ? e.message : String(e);
        runtime.out.emit({ type: 'error', t: runtime.now(), scenario: this.s.name, message });
        if (this.errors <= 10) this.log(`scenario ${this.s.name}: iteration failed: ${message}`);
        if (this.errors === 10)
          this.log(`scenario ${this.s.name}: further iteration errors are counted, not logged`);
      }
    } finally {
      this.active--;
      st.iter++;
    }
    if (!interrupted) {
      const b = runtime.registry.builtin;
      b.iterations.add(1, this.tags);
      b.iteration_duration.add(performance.now() - st.intendedStart, this.tags);
    }
  }

  track(p: Promise<void>): Promise<void> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  /** End: no new iterations; in-flight ones get gracefulStop, then are interrupted. */
  async finish(loops: Promise<void>[]): Promise<void> {
    this.stopping = true;
    const all = [...loops, ...this.inflight];
    const grace = this.testAbort.aborted ? 0 : this.s.gracefulStopMs;
    if (grace > 0 && (await settleWithin(all, grace))) return;
    for (const v of this.vus) v.ctl.abort();
    if (!(await settleWithin([...loops, ...this.inflight], 5000)))
      this.log(
        `scenario ${this.s.name}: iterations still running 5 s after they were interrupted; left behind`,
      );
  }

  async closedLoop(v: Vu, more: () => boolean): Promise<void> {
    while (!this.stopping && more()) await this.iterate(v);
  }

  async run(): Promise<void> {
    const s = this.s;
    const S = performance.now();
    const end = S + s.durationMs;
    const timeUp = (): boolean => performance.now() >= end;
    const stopAtEnd = async (loops: Promise<void>[]): Promise<void> => {
      // Whichever first: all loops done, the duration over, or the test aborted.
      const ctl = new AbortController();
      const onAbort = (): void => ctl.abort();
      this.testAbort.addEventListener('abort', onAbort);
      void Promise.allSettled(loops).then(() => ctl.abort());
      await sleepUntil(end, ctl.signal);
      this.testAbort.removeEventListener('abort', onAbort);
      await this.finish(loops);
    };
    switch (s.executor) {
      case 'constant-vus': {
        const loops = Array.from({ length: s.vus }, () => this.closedLoop(this.newVu(), () => !timeUp()));
        return stopAtEnd(loops);
      }
      case 'shared-iterations': {
        let left = s.iterations;
        const loops = Array.from({ length: s.vus }, () =>
          this.closedLoop(this.newVu(), () => !timeUp() && left-- > 0),
        );
        return stopAtEnd(loops);
      }
      case 'per-vu-iterations': {
        const loops = Array.from({ length: s.vus }, () => {
          let left = s.iterations;
          return this.closedLoop(this.newVu(), () => !timeUp() && left-- > 0);
        });
        return stopAtEnd(loops);
      }
      case 'ramping-vus':
        return this.rampingVus(S, end);
      default:
        return this.arrivalRate(S, end);
    }
  }

  private async rampingVus(S: number, end: number): Promise<void> {
    const s = this.s;
    let target = vuTarget(s, 0);
    const slots: { v: Vu; loop?: Promise<void>; downSince?: number }[] = [];
    const loops: Promise<void>[] = [];
    const tick = (): void => {
      const now = performance.now();
      target = vuTarget(s, now - S);
      for (let i = 0; i < target; i++) {
        const slot = (slots[i] ??= { v: this.newVu() });
        slot.downSince = undefined;
        if (!slot.loop) {
          const idx = i;
          const p = this.closedLoop(slot.v, () => idx < target && performance.now() < end).finally(() => {
            slot.loop = undefined;
          });
          slot.loop = p;
          loops.push(p);
        }
      }
      // VUs above the target finish their iteration; past gracefulRampDown they are interrupted.
      for (let i = target; i < slots.length; i++) {
        const slot = slots[i]!;
        if (!slot.loop) continue;
        slot.downSince ??= now;
        if (now - slot.downSince >= s.gracefulRampDownMs) slot.v.ctl.abort();
      }
    };
    tick();
    while (performance.now() < end && !this.testAbort.aborted) {
      await sleepUntil(Math.min(end, performance.now() + 50), this.testAbort);
      tick();
    }
    await this.finish(loops);
  }

  private async arrivalRate(S: number, end: number): Promise<void> {
    const s = this.s;
    const idle: Vu[] = [];
    for (let i = 0; i < s.preAllocatedVUs; i++) idle.push(this.newVu());
    let allocated = s.preAllocatedVUs;
    const gen = arrivalTimes(s);
    let next = gen.next();
    const b = runtime.registry.builtin;
    const clock = new Sleeper(this.testAbort);
    while (!next.done && !this.testAbort.aborted) {
      const now = performance.now();
      const due = S + next.value;
      if (due > now) {
        await clock.until(due);
        continue;
      }
      // Every arrival that is due starts now, measured from when it was due.
      while (!next.done && S + next.value <= now) {
        let v = idle.pop();
        if (!v && allocated < s.maxVUs) {
          v = this.newVu();
          allocated++;
        }
        if (!v) {
          this.dropped++;
          b.dropped_iterations.add(1, this.tags);
          runtime.out.emit({ type: 'dropped', t: runtime.now(), scenario: s.name });
        } else {
          const vu = v;
          void this.track(this.iterate(vu, S + next.value).finally(() => idle.push(vu)));
        }
        next = gen.next();
      }
    }
    await sleepUntil(end, this.testAbort);
    await this.finish([]);
  }
}

function groupTree(): GroupSummary {
  const root: GroupSummary = { name: '', path: '', id: '', groups: [], checks: [] };
  const byPath = new Map<string, GroupSummary>([['', root]]);
  const node = (path: string): GroupSummary => {
    let g = byPath.get(path);
    if (g) return g;
    const i = path.lastIndexOf('::');
    const parent = node(path.slice(0, i));
    g = { name: path.slice(i + 2), path, id: path, groups: [], checks: [] };
    parent.groups.push(g);
    byPath.set(path, g);
    return g;
  };
  for (const [path, checks] of runtime.checks) {
    const g = node(path);
    for (const [name, c] of checks)
      g.checks.push({ name, path: `${path}::${name}`, id: `${path}::${name}`, ...c });
  }
  return root;
}

async function withTimeout<T>(what: string, ms: number, f: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      f(),
      new Promise<never>(
        (_, rej) => (timer = setTimeout(() => rej(new Error(`${what} took longer than ${ms} ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Run an imported script (its module namespace) to the end; see EngineOptions. */
export async function runScript(mod: LoadScript, o: EngineOptions): Promise<EngineResult> {
  const log = o.log ?? ((l: string) => void process.stderr.write(l + '\n'));
  const options = mod.options ?? {};
  const plan = planScenarios(options, o.file);
  for (const s of plan) {
    if (typeof mod[s.exec] !== 'function')
      throw new UsageError(`exec "${s.exec}" is not a function exported by the script`, {
        file: o.file,
        field: `options.scenarios.${s.name}.exec`,
      });
  }
  const thresholds: ParsedThreshold[] = parseThresholds(options.thresholds, o.file);
  const reg = runtime.registry;
  reg.bindThresholds(thresholds, o.file);
  runtime.httpTagged = Object.keys(reg.builtin).some(
    (k) => k.startsWith('http_') && reg.builtin[k as 'http_reqs'].subs.length > 0,
  );
  runtime.globalTags = options.tags ?? {};
  if (o.env) prepareRuntime(o.env);
  const trendStats = options.summaryTrendStats ?? [...DEFAULT_TREND_STATS, 'p(99)'];
  runtime.out = new SampleWriter(o.samplesFile);
  const cpu0 = process.cpuUsage();
  runtime.out.emit({
    type: 'start',
    t: 0,
    epochMs: Date.now() - (performance.now() - runtime.t0),
    cpuSeconds: (cpu0.user + cpu0.system) / 1e6,
  });
  const connections = Math.max(
    1,
    plan.reduce((a, s) => a + maxVus(s), 0),
  );
  const agent = createAgent(connections);
  runtime.agent = agent;

  const testAbort = new AbortController();
  let aborted: string | undefined;
  const abort = (reason: string): void => {
    if (aborted) return;
    aborted = reason;
    log(`run aborted: ${reason}`);
    testAbort.abort();
  };
  runtime.abortTest = abort;
  const onSignal = (): void => abort('stopped (signal)');
  o.signal?.addEventListener('abort', onSignal, { once: true });
  if (o.signal?.aborted) onSignal();

  const setupState = (ctl: AbortController): VuState => ({
    vu: 0,
    iter: 0,
    iterInScenario: 0,
    scenario: undefined,
    env: runtime.env,
    tags: runtime.globalTags,
    group: '',
    intendedStart: performance.now(),
    firstRequest: false,
    signal: ctl.signal,
  });

  let data: unknown;
  if (typeof mod.setup === 'function') {
    const setup = mod.setup;
    const ctl = new AbortController();
    const ms = parseDuration(options.setupTimeout ?? '60s', 'options.setupTimeout');
    const r = await withTimeout('setup()', ms, () =>
      Promise.resolve(runtime.als.run(setupState(ctl), setup)),
    ).finally(() => ctl.abort());
    // k6 hands each VU a copy of setup's data (JSON).
    data = r === undefined ? undefined : JSON.parse(JSON.stringify(r));
  }

  const tags = (s: PlannedScenario): Record<string, string> => ({
    ...runtime.globalTags,
    ...s.tags,
    scenario: s.name,
  });
  const runs = plan.map(
    (s) => new ScenarioRun(s, mod[s.exec] as (d: unknown) => unknown, data, testAbort.signal, log, tags(s)),
  );
  let thresholdResults: ThresholdResult[] = [];
  const runStart = performance.now();
  const live = thresholds.filter((t) => t.abortOnFail);
  const evalTimer = setInterval(() => {
    const elapsed = performance.now() - runStart;
    reg.builtin.vus.add(
      runs.reduce((a, r) => a + r.active, 0),
      undefined,
    );
    if (live.length === 0) return;
    const due = live.filter((t) => elapsed >= t.delayAbortEvalMs);
    const res = reg.evaluate(due, elapsed);
    const failed = res.find((r) => !r.ok);
    if (failed) {
      failed.aborted = true;
      thresholdResults = res;
      abort(`threshold ${failed.metric}: ${failed.expression} failed (value ${failed.value})`);
    }
  }, o.evalEveryMs ?? 2000);
  evalTimer.unref();

  await Promise.all(
    runs.map(async (r) => {
      await sleepUntil(runStart + r.s.startTimeMs, testAbort.signal);
      if (!testAbort.signal.aborted) await r.run();
    }),
  );
  clearInterval(evalTimer);
  const durationMs = performance.now() - runStart;

  if (typeof mod.teardown === 'function') {
    const teardown = mod.teardown;
    const ctl = new AbortController();
    const ms = parseDuration(options.teardownTimeout ?? '60s', 'options.teardownTimeout');
    try {
      await withTimeout('teardown()', ms, () =>
        Promise.resolve(runtime.als.run(setupState(ctl), teardown, data)),
      );
    } catch (e) {
      log(`teardown failed: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      ctl.abort();
    }
  }
  o.signal?.removeEventListener('abort', onSignal);

  const final = reg.evaluate(thresholds, durationMs);
  // A threshold that aborted the run stays failed (and marked) even if the final value recovered.
  for (const r of final) {
    const prior = thresholdResults.find(
      (p) => p.metric === r.metric && p.expression === r.expression && p.aborted,
    );
    if (prior) Object.assign(r, { ok: false, aborted: true });
  }
  const summary: SummaryData = {
    metrics: reg.summary(durationMs, trendStats, final),
    root_group: groupTree(),
    options: { summaryTrendStats: trendStats, summaryTimeUnit: '', noColor: true },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    ...(data !== undefined ? { setup_data: data } : {}),
  };
  if (typeof mod.handleSummary === 'function') {
    try {
      const outs = (await mod.handleSummary(summary)) as Record<string, unknown> | undefined;
      for (const [k, v] of Object.entries(outs ?? {})) {
        const text = typeof v === 'string' ? v : JSON.stringify(v);
        if (k === 'stdout') process.stdout.write(text);
        else if (k === 'stderr') process.stderr.write(text);
        else writeFileSync(isAbsolute(k) ? k : join(o.outDir ?? process.cwd(), k), text);
      }
    } catch (e) {
      log(`handleSummary failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const cpu = process.cpuUsage();
  runtime.out.emit({ type: 'end', t: runtime.now(), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  runtime.out.close();
  runtime.agent = undefined;
  await Promise.all([agent.close(), ...runs.flatMap((r) => r.vus.map((v) => v.state.http?.close()))]);
  return {
    data: summary,
    thresholds: final,
    ...(aborted ? { aborted } : {}),
    iterationErrors: runs.reduce((a, r) => a + r.errors, 0),
    droppedIterations: runs.reduce((a, r) => a + r.dropped, 0),
  };
}
