import { writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import { createAgent, warmUp } from './http-client.ts';
import { DEFAULT_TREND_STATS, Registry } from './metrics.ts';
import type { RunnerState } from './merge.ts';
import { runtime, SampleWriter, type VuState } from './runtime.ts';
import { ScenarioRun, sleepUntil } from './scenario-run.ts';
import { maxVus, planScenarios, type PlannedScenario } from './schedule.ts';
import { segmentScenario, sequenceDenominator, type Segment } from './segment.ts';
import { parseThresholds, type ParsedThreshold } from './thresholds.ts';
import type { GroupSummary, LoadScript, Options, SummaryData, ThresholdResult } from './types.ts';

export { sleepUntil } from './scenario-run.ts';

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
  /**
   * Run only this execution segment of the test (k6's executionSegment; `--load-replicas`): its share
   * of every executor's VUs and iterations and its arrivals of the arrival-rate ones. The sequence's
   * denominator is the segment's own (exact for the equal segments i/N:(i+1)/N) unless given.
   */
  segment?: Segment;
  segmentDenominator?: number;
  log?: (line: string) => void;
}

export interface EngineResult {
  data: SummaryData;
  /** The aggregates themselves (histograms included): `--load-replicas` merges the runners' states. */
  state: RunnerState;
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

/** The state of setup() and teardown(): VU 0, the run's env and global tags. */
function setupState(ctl: AbortController): VuState {
  return {
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
  };
}

/** setup() (or teardown(data)) as VU 0, within its timeout. */
async function runLifecycle(
  what: 'setup' | 'teardown',
  f: (data?: unknown) => unknown,
  timeout: string | undefined,
  data?: unknown,
): Promise<unknown> {
  const ctl = new AbortController();
  const ms = parseDuration(timeout ?? '60s', `options.${what}Timeout`);
  try {
    return await withTimeout(`${what}()`, ms, () =>
      Promise.resolve(runtime.als.run(setupState(ctl), f, data)),
    );
  } finally {
    ctl.abort();
  }
}

/** The script's plan, with every exec function checked, and its thresholds bound to the registry. */
function prepare(mod: LoadScript, file: string): { plan: PlannedScenario[]; thresholds: ParsedThreshold[] } {
  const options = mod.options ?? {};
  const plan = planScenarios(options, file);
  for (const s of plan) {
    if (typeof mod[s.exec] !== 'function')
      throw new UsageError(`exec "${s.exec}" is not a function exported by the script`, {
        file,
        field: `options.scenarios.${s.name}.exec`,
      });
  }
  const thresholds = parseThresholds(options.thresholds, file);
  const reg = runtime.registry;
  reg.bindThresholds(thresholds, file);
  runtime.httpTagged = Object.keys(reg.builtin).some(
    (k) => k.startsWith('http_') && reg.builtin[k as 'http_reqs'].subs.length > 0,
  );
  runtime.globalTags = options.tags ?? {};
  return { plan, thresholds };
}

/**
 * Every scenario from its startTime to its end, with the `vus` gauge sampled and the abortOnFail
 * thresholds evaluated every evalEveryMs. Returns the live results of the evaluation that aborted the
 * run (empty when none did) and the run's duration.
 */
async function runScenarios(
  runs: ScenarioRun[],
  thresholds: readonly ParsedThreshold[],
  testAbort: AbortSignal,
  abort: (reason: string) => void,
  evalEveryMs: number,
): Promise<{ live: ThresholdResult[]; durationMs: number }> {
  const reg = runtime.registry;
  let live: ThresholdResult[] = [];
  const runStart = performance.now();
  const onFail = thresholds.filter((t) => t.abortOnFail);
  const evalTimer = setInterval(() => {
    const elapsed = performance.now() - runStart;
    reg.builtin.vus.add(
      runs.reduce((a, r) => a + r.active, 0),
      undefined,
    );
    if (onFail.length === 0) return;
    const res = reg.evaluate(
      onFail.filter((t) => elapsed >= t.delayAbortEvalMs),
      elapsed,
    );
    const failed = res.find((r) => !r.ok);
    if (failed) {
      failed.aborted = true;
      live = res;
      abort(`threshold ${failed.metric}: ${failed.expression} failed (value ${failed.value})`);
    }
  }, evalEveryMs);
  evalTimer.unref();
  await Promise.all(
    runs.map(async (r) => {
      await sleepUntil(runStart + r.s.startTimeMs, testAbort);
      if (!testAbort.aborted) await r.run();
    }),
  );
  clearInterval(evalTimer);
  return { live, durationMs: performance.now() - runStart };
}

/** handleSummary(data): its keys are stdout, stderr or file names (relative ones in outDir). */
async function handleSummary(
  mod: LoadScript,
  summary: SummaryData,
  outDir: string,
  log: (l: string) => void,
) {
  if (typeof mod.handleSummary !== 'function') return;
  try {
    const outs = (await mod.handleSummary(summary)) as Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(outs ?? {})) {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      if (k === 'stdout') process.stdout.write(text);
      else if (k === 'stderr') process.stderr.write(text);
      else writeFileSync(isAbsolute(k) ? k : join(outDir, k), text);
    }
  } catch (e) {
    log(`handleSummary failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The final threshold results and k6's end-of-test data. */
function summarize(
  options: Options,
  thresholds: readonly ParsedThreshold[],
  live: readonly ThresholdResult[],
  durationMs: number,
  data: unknown,
): { final: ThresholdResult[]; summary: SummaryData } {
  const reg = runtime.registry;
  const trendStats = options.summaryTrendStats ?? [...DEFAULT_TREND_STATS, 'p(99)'];
  const final = reg.evaluate(thresholds, durationMs);
  // A threshold that aborted the run stays failed (and marked) even if the final value recovered.
  for (const r of final) {
    const prior = live.find((p) => p.metric === r.metric && p.expression === r.expression && p.aborted);
    if (prior) Object.assign(r, { ok: false, aborted: true });
  }
  const summary: SummaryData = {
    metrics: reg.summary(durationMs, trendStats, final),
    root_group: groupTree(),
    options: { summaryTrendStats: trendStats, summaryTimeUnit: '', noColor: true },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    ...(data !== undefined ? { setup_data: data } : {}),
  };
  return { final, summary };
}

function cpuSeconds(): number {
  const cpu = process.cpuUsage();
  return (cpu.user + cpu.system) / 1e6;
}

/** Run an imported script (its module namespace) to the end; see EngineOptions. */
export async function runScript(mod: LoadScript, o: EngineOptions): Promise<EngineResult> {
  const log = o.log ?? ((l: string) => void process.stderr.write(l + '\n'));
  const options = mod.options ?? {};
  const prepared = prepare(mod, o.file);
  const { thresholds } = prepared;
  const seg = o.segment;
  const plan = seg ? prepared.plan.map((s) => segmentScenario(s, seg)) : prepared.plan;
  const segment = seg ? { seg, d: o.segmentDenominator ?? sequenceDenominator([seg]) } : undefined;
  if (o.env) prepareRuntime(o.env);
  runtime.out = new SampleWriter(o.samplesFile);
  await warmUp();
  runtime.out.emit({
    type: 'start',
    t: 0,
    epochMs: Date.now() - (performance.now() - runtime.t0),
    cpuSeconds: cpuSeconds(),
  });
  // at once: the harness times the scenario's faults from this sample
  runtime.out.flush();
  const agent = createAgent(
    Math.max(
      1,
      plan.reduce((a, s) => a + maxVus(s), 0),
    ),
  );
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

  const raw = mod.setup ? await runLifecycle('setup', mod.setup, options.setupTimeout) : undefined;
  // k6 hands each VU a copy of setup's data (JSON).
  const data: unknown = raw === undefined ? undefined : JSON.parse(JSON.stringify(raw));
  const runs = plan.map(
    (s) =>
      new ScenarioRun(
        s,
        mod[s.exec] as (d: unknown) => unknown,
        data,
        testAbort.signal,
        log,
        {
          ...runtime.globalTags,
          ...s.tags,
          scenario: s.name,
        },
        segment,
      ),
  );
  const { live, durationMs } = await runScenarios(
    runs,
    thresholds,
    testAbort.signal,
    abort,
    o.evalEveryMs ?? 2000,
  );
  if (typeof mod.teardown === 'function') {
    await runLifecycle('teardown', mod.teardown, options.teardownTimeout, data).catch((e: unknown) =>
      log(`teardown failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  }
  o.signal?.removeEventListener('abort', onSignal);

  const { final, summary } = summarize(options, thresholds, live, durationMs, data);
  await handleSummary(mod, summary, o.outDir ?? process.cwd(), log);
  runtime.out.emit({ type: 'end', t: runtime.now(), cpuSeconds: cpuSeconds() });
  runtime.out.close();
  runtime.agent = undefined;
  await Promise.all([agent.close(), ...runs.flatMap((r) => r.vus.map((v) => v.state.http?.close()))]);
  const trendStats = summary.options.summaryTrendStats;
  return {
    data: summary,
    state: { durationMs, trendStats, thresholds: [...thresholds], metrics: runtime.registry.toState() },
    thresholds: final,
    ...(aborted ? { aborted } : {}),
    iterationErrors: runs.reduce((a, r) => a + r.errors, 0),
    droppedIterations: runs.reduce((a, r) => a + r.dropped, 0),
  };
}
