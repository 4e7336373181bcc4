import { mkdirSync, writeFileSync } from 'node:fs';
import { makeRunDir, newRunId } from '../core/run-id.ts';
import { join, relative } from 'node:path';
import { CleanupRegistry } from '../core/cleanup/registry.ts';
import { sleep } from '../core/deadline.ts';
import { UsageError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { repoRoot } from '../core/paths.ts';
import { readSamples, stats, type HttpSample, type WriteSample } from '../load/summary.ts';
import { checkScriptBundles } from '../load/bundle.ts';
import { validateLoadScript } from '../load/validate.ts';
import { collectProvenance } from '../record/provenance.ts';
import { checkRubricMeasurable, loadRubric } from '../scoring/rubric.ts';
import { scoringInput } from '../scoring/merge.ts';
import { score } from '../scoring/score.ts';
import { loadStack, referenceStackFile, type StackManifest } from '../stack/manifest.ts';
import type { CampaignDeployment } from '../targets/campaign-port.ts';
import type { CampaignRequest, TargetOptions, TargetPlugin } from '../targets/plugin.ts';
import { targetPlugin } from '../targets/registry.ts';
import { capacityStage, type CapacitySettings } from './capacity.ts';
import { converge } from './converge.ts';
import { judge, loadEvidence, type CampaignEvidence } from './evidence.ts';
import { gatherEvidence } from './gather.ts';
import { faultInput, planCampaign, type Plan } from './plan.ts';
import type { FaultRecord, LoadWindow, RunRecord } from './record.ts';
import { inScenarioFile, type Scenario } from './scenario.ts';
import {
  FaultSchedule,
  RunClock,
  RunLog,
  runTimeline,
  type Progress,
  type TimelineOutcome,
} from './timeline.ts';

export type { Progress } from './timeline.ts';

const log = logger('campaign');

export interface RunOptions {
  scenario: Scenario;
  seed?: number;
  stackFile?: string;
  /** The target (a plugin, or its name); default the scenario's. */
  target?: TargetPlugin | string;
  /** The target's command-line options (`inventory`, `kubeconfig`, …). */
  targetOptions?: TargetOptions;
  signal: AbortSignal;
  progress?: Progress;
  /** Where the run dir goes (default reports/<stamp>-<scenario>). */
  outDir?: string;
  /** Competitor label recorded in the provenance (default: the stack's name). */
  label?: string;
  /** `--find-capacity`: a capacity search per edge after the checks (src/campaign/capacity.ts). */
  capacity?: CapacitySettings;
  /** `--load-replicas N`: the load runner as a Kubernetes Job of N pods, each an execution segment. */
  loadReplicas?: number;
}

/** A run, planned and checked, before anything is created. */
export interface PreparedRun {
  scenario: Scenario;
  plan: Plan;
  stack: StackManifest;
  rubric: Awaited<ReturnType<typeof loadRubric>>;
  target: TargetPlugin;
  request: CampaignRequest;
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** The campaign's request to its target: target-neutral (targets never see the scenario). */
export function targetRequest(
  s: Scenario,
  plan: Plan,
  stack: StackManifest,
  options: TargetOptions,
): CampaignRequest {
  return {
    edges: plan.nodes,
    edgeMode: s.edgeMode,
    subnet: s.target.subnet,
    faults: plan.faults.map(faultInput),
    stack,
    options,
    checks: s.checks,
  };
}

/** `--load-replicas`: refused before anything is deployed where there is no Job to run it as. */
export function checkLoadReplicas(
  replicas: number,
  target: Pick<TargetPlugin, 'name' | 'capabilities'>,
): void {
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new UsageError(`--load-replicas must be a positive integer, got ${replicas}`);
  if (!target.capabilities.includes('kube'))
    throw new UsageError(
      `no Kubernetes API: --load-replicas needs a Kubernetes target (--target kube-local); ${target.name} has none`,
    );
}

/** Stage 1 — plan: load and validate everything, then the target's preflight; nothing is created. */
export async function prepareRun(opts: RunOptions): Promise<PreparedRun> {
  const { scenario } = opts;
  const plan = planCampaign(scenario, opts.seed);
  const stack = await loadStack(opts.stackFile ?? scenario.paths.stack ?? referenceStackFile);
  const rubric = await loadRubric(scenario.paths.rubric);
  const target =
    typeof opts.target === 'object' ? opts.target : await targetPlugin(opts.target ?? scenario.target.kind);
  checkRubricMeasurable(rubric, target.name, scenario.paths.rubric);
  const request = targetRequest(scenario, plan, stack, opts.targetOptions ?? {});
  if (opts.loadReplicas !== undefined) {
    checkLoadReplicas(opts.loadReplicas, target);
    request.loadReplicas = opts.loadReplicas;
  }
  // the load script: its options, executors and thresholds, as the runner will read them
  await validateLoadScript(scenario.paths.loadScript, scenario.load.env);
  // on a cluster the script travels bundled in a ConfigMap: one that cannot is refused now
  if (opts.loadReplicas !== undefined && target.name !== 'kube-local')
    await checkScriptBundles(scenario.paths.loadScript);
  try {
    await target.preflight(request);
  } catch (err) {
    // a fault or node that does not validate: name the scenario file
    throw inScenarioFile(err, scenario);
  }
  return { scenario, plan, stack, rubric, target, request };
}

/** A campaign under way: what its stages share, and what they have produced so far. */
interface LiveRun {
  readonly p: PreparedRun;
  readonly opts: RunOptions;
  readonly runId: string;
  readonly runDir: string;
  readonly clock: RunClock;
  readonly runLog: RunLog;
  readonly registry: CleanupRegistry;
  /** Stops the publish watchers once converged (or on the way out). */
  readonly watchStop: AbortController;
  dep?: CampaignDeployment;
  timeline?: TimelineOutcome;
  evidence?: CampaignEvidence;
}

/** The run dir: `outDir` if given, else reports/<stamp>-<scenario>. */
function openRunDir(opts: RunOptions, started: Date): string {
  if (!opts.outDir) return makeRunDir(`${stamp(started)}-${opts.scenario.name}`);
  mkdirSync(opts.outDir, { recursive: true });
  return opts.outDir;
}

/**
 * A campaign, as a pipeline of named stages: plan → deploy → timeline (load + faults + samples) →
 * heal/converge → gather evidence → judge (src/checks) → score (src/scoring) → record (run.json).
 * Reports are written by the caller from the record (`writeReports`). Teardown always runs.
 */
export async function runCampaign(opts: RunOptions): Promise<{ record: RunRecord; runDir: string }> {
  const p = await prepareRun(opts);
  const { scenario, plan, stack } = p;
  const started = new Date();
  const runId = newRunId('ec', started);
  const runDir = openRunDir(opts, started);
  log.info(
    `run ${runId}: scenario ${scenario.name}, target ${p.target.name}, seed ${plan.seed}, stack ${stack.name}, dir ${relative(process.cwd(), runDir) || runDir}`,
  );
  const clock = new RunClock();
  const run: LiveRun = {
    p,
    opts,
    runId,
    runDir,
    clock,
    runLog: new RunLog(clock),
    registry: CleanupRegistry.open(runId),
    watchStop: new AbortController(),
  };
  let error: string | undefined;
  try {
    await deployAndRun(run);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    log.error(`campaign stopped: ${error}`);
  } finally {
    const revertError = await teardown(run);
    error = error ?? revertError;
  }
  const record = buildRecord({
    p,
    runId,
    runDir,
    started,
    clock,
    runLog: run.runLog,
    timeline: run.timeline,
    evidence: run.evidence,
    error,
    interrupted: opts.signal.aborted,
  });
  const provenance = await provenanceOf(p, opts.label);
  if (provenance) record.provenance = provenance;
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(record, null, 2));
  return { record, runDir };
}

/** Stages deploy → warm-up → load (+ faults) → heal → converge → checks; each result kept on `run`. */
async function deployAndRun(run: LiveRun): Promise<void> {
  const { p, opts, runLog, clock } = run;
  const dep = await runLog.phase('deploy', opts.progress, () =>
    p.target.deploy(p.request, {
      runId: run.runId,
      runDir: run.runDir,
      registry: run.registry,
      signal: opts.signal,
    }),
  );
  run.dep = dep;
  await runLog.phase('warm-up', opts.progress, () => sleep(p.plan.warmupMs, opts.signal));
  clock.loadStart = clock.now();
  const { timeline, healAt } = await timelineThenHeal(run, dep);
  const converged = await runLog.phase('converge', opts.progress, () =>
    converge({
      dep,
      clock,
      healAt,
      timeoutMs: p.plan.convergenceTimeoutMs,
      acked: ackedIds(timeline),
      ...nativeAcked(timeline, dep),
      pubWatchers: timeline.pubWatchers,
      signal: opts.signal,
    }),
  );
  run.watchStop.abort();
  if (opts.signal.aborted) throw new UsageError('interrupted');
  run.evidence = await runLog.phase('checks', opts.progress, () =>
    gatherEvidence({
      scenario: p.scenario,
      plan: p.plan,
      stack: p.stack,
      runId: run.runId,
      runDir: run.runDir,
      dep,
      log: runLog,
      clock,
      load: timeline.load,
      ledger: converged.ledger,
      convergeMs: converged.convergeMs,
      nativeConvergeMs: converged.nativeConvergeMs,
      signal: opts.signal,
    }),
  );
  if (opts.capacity)
    run.evidence.capacity = await capacityStage(opts.capacity, {
      dep,
      faults: p.plan.faults,
      runDir: run.runDir,
      registry: run.registry,
      runLog,
      progress: opts.progress,
      signal: opts.signal,
    });
}

/** The load phase with its faults, then the heal (every fault reverted) whatever happened. */
async function timelineThenHeal(
  run: LiveRun,
  dep: CampaignDeployment,
): Promise<{ timeline: TimelineOutcome; healAt: number }> {
  const { p, opts, runLog, clock } = run;
  const schedule = new FaultSchedule(runLog, dep, run.registry, opts.signal);
  let healAt: number | undefined;
  try {
    run.timeline = await runLog.phase('load', opts.progress, () =>
      runTimeline({
        scenario: p.scenario,
        plan: p.plan,
        runId: run.runId,
        runDir: run.runDir,
        dep,
        registry: run.registry,
        log: runLog,
        schedule,
        signal: opts.signal,
        progress: opts.progress,
        healAt: () => healAt,
        watchStop: run.watchStop.signal,
        ...(opts.loadReplicas !== undefined ? { loadReplicas: opts.loadReplicas } : {}),
      }),
    );
  } finally {
    await runLog.phase('heal', opts.progress, async () => {
      await schedule.revertAll();
      healAt = clock.now();
      runLog.event('phase', 'all faults reverted (heal)', undefined, healAt);
    });
  }
  return { timeline: run.timeline, healAt: healAt! };
}

/** Stage teardown: the deployment, then the run's journal; the error of a failed revert, if any. */
async function teardown(run: LiveRun): Promise<string | undefined> {
  run.watchStop.abort();
  return run.runLog
    .phase('teardown', run.opts.progress, async () => {
      await run.dep?.teardown().catch((e: unknown) => log.error(`teardown: ${(e as Error).message}`));
      await run.registry.close();
    })
    .then(
      () => undefined,
      (e: unknown) => `revert failed: ${(e as Error).message}`,
    );
}

async function provenanceOf(p: PreparedRun, label: string | undefined): Promise<RunRecord['provenance']> {
  return collectProvenance({
    rubric: { name: p.rubric.name, version: p.rubric.version, file: p.scenario.paths.rubric },
    scenarioFile: p.scenario.file,
    stack: p.stack,
    target: p.target.name,
    seed: p.plan.seed,
    ...(label ? { label } : {}),
  }).catch((e: unknown) => {
    log.warn(`provenance incomplete: ${(e as Error).message}`);
    return undefined;
  });
}

function ackedIds(t: TimelineOutcome, skipNodes: ReadonlySet<string> = new Set()): Set<string> {
  const samples = t.load ? readSamples(t.load.samplesFile) : [];
  return new Set(
    samples
      .filter((s): s is WriteSample => s.type === 'write' && s.outcome === 'ok' && !skipNodes.has(s.node))
      .map((s) => s.id),
  );
}

/** With edges under an emulator: the native edges' acknowledged writes (their convergence is scored alone). */
function nativeAcked(t: TimelineOutcome, dep: CampaignDeployment): { ackedNative?: Set<string> } {
  const emulated = new Set(dep.edges.filter((e) => e.emulated).map((e) => e.name));
  return emulated.size ? { ackedNative: ackedIds(t, emulated) } : {};
}

/** Stage: judge the evidence, score the verdicts, and assemble run.json (times from the load start). */
function buildRecord(a: {
  p: PreparedRun;
  runId: string;
  runDir: string;
  started: Date;
  clock: RunClock;
  runLog: RunLog;
  timeline: TimelineOutcome | undefined;
  evidence: CampaignEvidence | undefined;
  error: string | undefined;
  interrupted: boolean;
}): RunRecord {
  const { p, clock, runLog } = a;
  const rel = (t: number): number => t - clock.loadStart;
  let error = a.error;
  // An interrupted or broken run is judged on nothing: no half-measured check scores points.
  const loaded = a.evidence && !a.interrupted ? loadEvidence(a.runDir, a.evidence) : undefined;
  const checks = loaded ? judge(loaded) : [];
  let input: ReturnType<typeof scoringInput>;
  try {
    input = scoringInput(checks, { interrupted: a.interrupted });
  } catch (err) {
    // two checks wrote one metric: a harness bug; keep the record, score nothing
    error = error ?? (err instanceof Error ? err.message : String(err));
    input = { metrics: {}, interrupted: true };
  }
  const metrics = input.metrics;
  const scored = score(p.rubric, metrics, input);
  const faults: FaultRecord[] = runLog.faults.map((f) => ({
    ...f,
    start: rel(f.start),
    end: f.end === undefined ? undefined : rel(f.end),
  }));
  const http = loaded?.http ?? [];
  const series = runLog.series;
  for (const m of [series.pending, series.cpu, series.memory])
    for (const pts of Object.values(m)) for (const pt of pts) pt.t = rel(pt.t);
  const load = a.timeline?.load;
  return {
    schema: 'edgechaos.run/v1',
    runId: a.runId,
    scenario: {
      name: p.scenario.name,
      file: relative(repoRoot, p.scenario.file),
      description: p.scenario.description,
    },
    seed: p.plan.seed,
    target: { kind: p.target.name },
    stack: { name: p.stack.name, version: p.stack.version, file: relative(repoRoot, p.stack.file) },
    rubric: {
      file: relative(repoRoot, p.scenario.paths.rubric),
      name: p.rubric.name,
      version: p.rubric.version,
      data: p.rubric,
    },
    startedAt: a.started.toISOString(),
    endedAt: new Date().toISOString(),
    nodes: [
      { name: 'cloud', role: 'cloud', profile: 'host' },
      ...p.plan.nodes.map((n) => ({ name: n.name, role: 'edge' as const, profile: n.profile })),
    ],
    phases: runLog.phases.map((x) => ({ ...x, start: rel(x.start), end: rel(x.end) })),
    timeline: runLog.timeline.map((e) => ({ ...e, t: rel(e.t) })).sort((x, y) => x.t - y.t),
    faults,
    load: {
      script: relative(repoRoot, p.scenario.paths.loadScript),
      summary: load?.summary,
      samplesFile: a.evidence?.samples?.file,
      windows: perWindow(http, faults, 0, p.plan.loadMs),
    },
    series,
    checks,
    metrics,
    score: scored,
    harness: a.timeline?.harness,
    ...(a.evidence ? { evidence: a.evidence } : {}),
    ...(a.interrupted ? { interrupted: true } : {}),
    gatesPassed:
      error === undefined &&
      !a.interrupted &&
      scored.gatesPassed &&
      checks.every((c) => c.status !== 'failed'),
    ...(error ? { error } : {}),
  };
}

/** p50/p95/p99 and errors for the baseline (no fault active anywhere) and for each fault's node and window. */
function perWindow(
  http: readonly HttpSample[],
  faults: readonly FaultRecord[],
  start: number,
  end: number,
): LoadWindow[] {
  // An instant fault (kill, restart) lasts, from the client's side, until its node answers again.
  const span = (f: FaultRecord): [number, number] => {
    if (f.end !== undefined && f.end - f.start > 50) return [f.start, f.end];
    const back = http.find((x) => x.node === f.node && x.ok && x.t > f.start);
    return [f.start, back?.t ?? end];
  };
  const active = (t: number): boolean =>
    faults.some((f) => t >= span(f)[0] && t < Math.max(span(f)[1], span(f)[0] + 1));
  const out: LoadWindow[] = [
    { name: 'baseline (no fault active)', start, end, stats: stats(http.filter((x) => !active(x.t))) },
  ];
  for (const f of faults) {
    const [s0, s1] = span(f);
    if (s1 <= s0) continue;
    const xs = http.filter((x) => x.node === f.node && x.t >= s0 && x.t < s1);
    out.push({ name: `${f.id} ${f.kind}`, node: f.node, start: s0, end: s1, stats: stats(xs, s1 - s0) });
  }
  return out;
}
