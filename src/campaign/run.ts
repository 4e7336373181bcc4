import { writeFileSync } from 'node:fs';
import { makeRunDir, newRunId } from '../core/run-id.ts';
import { basename, join, relative } from 'node:path';
import { checkDownlink, type Publication } from '../checks/downlink.ts';
import { checkSyncEfficiency } from '../checks/efficiency.ts';
import { checkImageSize } from '../checks/image.ts';
import { checkOffline, type Window } from '../checks/offline.ts';
import { checkResources } from '../checks/resources.ts';
import { checkStartup } from '../checks/startup.ts';
import { checkResumedSync } from '../checks/sync.ts';
import { notMeasured, type CheckResult } from '../checks/types.ts';
import { conform } from '../conform/suite.ts';
import { edgeStatus, putConfig, readLedger, type LedgerRow } from '../contract/client.ts';
import { CleanupRegistry } from '../core/cleanup/registry.ts';
import { sleep } from '../core/deadline.ts';
import { UsageError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { repoRoot } from '../core/paths.ts';
import { startLoad, type LoadResult } from '../load/run-load.ts';
import { stats, type HttpSample, type WriteSample } from '../load/summary.ts';
import { SampleTail } from '../load/tail.ts';
import { loadRubric } from '../scoring/rubric.ts';
import { score } from '../scoring/score.ts';
import { writeReports } from '../report/index.ts';
import type { Metrics } from '../scoring/types.ts';
import { loadStack, referenceStackFile, type StackManifest } from '../stack/manifest.ts';
import type { AppliedFault, CampaignDeployment } from './deployment.ts';
import { planCampaign, type Plan, type PlannedFault } from './plan.ts';
import type { FaultRecord, LoadWindow, RunRecord, SeriesPoint, TimelineEvent } from './record.ts';
import type { Scenario } from './scenario.ts';

const log = logger('campaign');

/**
 * Deploys a stack for a campaign; targets register themselves here. `preflight` (optional) checks
 * tools and inputs (kind, docker, kubeconfig) before a run starts, so a missing one is one clear error
 * and no run directory is made.
 */
export type Deployer = ((args: {
  scenario: Scenario;
  plan: Plan;
  stack: StackManifest;
  registry: CleanupRegistry;
  runDir: string;
  runId: string;
  signal: AbortSignal;
}) => Promise<CampaignDeployment>) & { preflight?: (plan: Plan, stack: StackManifest) => Promise<void> };

export interface Progress {
  phase(name: string, detail?: string): void;
  tick(state: {
    elapsedMs: number;
    totalMs: number;
    activeFaults: string[];
    requests: number;
    errors: number;
  }): void;
}

export interface RunOptions {
  scenario: Scenario;
  seed?: number;
  stackFile?: string;
  deploy: Deployer;
  signal: AbortSignal;
  progress?: Progress;
  /** Write the HTML/JUnit/Allure/PDF reports into the run dir (default true). */
  reports?: boolean;
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);

/** A campaign: deploy → warm-up → load + faults → heal → convergence → checks → score → run.json. */
export async function runCampaign(opts: RunOptions): Promise<{ record: RunRecord; runDir: string }> {
  const { scenario } = opts;
  // Everything is loaded and validated before anything is touched.
  const plan = planCampaign(scenario, opts.seed);
  const stack = await loadStack(opts.stackFile ?? scenario.paths.stack ?? referenceStackFile);
  const rubric = await loadRubric(scenario.paths.rubric);
  try {
    await opts.deploy.preflight?.(plan, stack);
  } catch (err) {
    // a fault that does not validate: name the scenario file
    if (err instanceof UsageError && !err.file && err.field?.startsWith('faults['))
      throw new UsageError(err.message, {
        file: relative(process.cwd(), scenario.file),
        field: err.field,
        cause: err,
      });
    throw err;
  }
  const started = new Date();
  const runId = newRunId('ec', started);
  const runDir = makeRunDir(`${stamp(started)}-${scenario.name}`);
  log.info(
    `run ${runId}: scenario ${scenario.name}, seed ${plan.seed}, stack ${stack.name}, dir ${relative(process.cwd(), runDir) || runDir}`,
  );

  const timeline: TimelineEvent[] = [];
  const phases: RunRecord['phases'] = [];
  const faults: FaultRecord[] = [];
  const series: RunRecord['series'] = { pending: {}, cpu: {}, memory: {} };
  const checks: CheckResult[] = [];
  let load: LoadResult | undefined;
  let harness: RunRecord['harness'];
  let loadWindows: LoadWindow[] = [];
  // One clock for the whole run: ms since the campaign started; shifted at the end so that t = 0 is the
  // start of the load phase (deploy and warm-up then have negative times).
  const t0 = performance.now();
  const t0Epoch = Date.now();
  const now = (): number => Math.round(performance.now() - t0);
  let loadStart = 0;
  const phase = (name: string, fn: () => Promise<void>) => async (): Promise<void> => {
    const start = now();
    opts.progress?.phase(name);
    timeline.push({ t: start, kind: 'phase', text: `${name} starts` });
    try {
      await fn();
    } finally {
      phases.push({ name, start, end: now() });
    }
  };
  let error: string | undefined;
  const registry = CleanupRegistry.open(runId);
  let dep: CampaignDeployment | undefined;
  try {
    await phase('deploy', async () => {
      dep = await opts.deploy({ scenario, plan, stack, registry, runDir, runId, signal: opts.signal });
    })();
    const d = dep!;
    await phase('warm-up', () => sleep(plan.warmupMs, opts.signal))();

    // ---- load + faults
    loadStart = now();
    const partitions: Window[] = [];
    const active = new Map<string, { f: PlannedFault; applied: AppliedFault; rec: FaultRecord }>();
    const publications: Publication[] = [];
    const pubWatchers: Promise<void>[] = [];
    const partitionedNow = (): Set<string> =>
      new Set([...active.values()].filter((a) => isCloudCut(a.f)).map((a) => a.f.node));
    const cutEnded = new Map<string, number>();
    const instant: AppliedFault[] = [];
    let healAt: number | undefined;

    const revertFault = async (id: string): Promise<void> => {
      const a = active.get(id);
      if (!a) return;
      active.delete(id);
      await a.applied.revert();
      a.rec.end = now();
      timeline.push({
        t: a.rec.end,
        kind: 'fault-off',
        node: a.f.node,
        text: `${a.f.id} ${a.f.kind} reverted`,
      });
      if (isCloudCut(a.f)) {
        partitions.push({ node: a.f.node, start: a.rec.start, end: a.rec.end });
        cutEnded.set(a.f.node, a.rec.end);
      }
    };
    const applyFault = async (f: PlannedFault): Promise<void> => {
      const rec: FaultRecord = {
        id: f.id,
        kind: f.kind,
        node: f.node,
        params: f.params,
        start: now(),
        end: undefined,
      };
      faults.push(rec);
      try {
        const applied = await d.applyFault(f, registry, opts.signal);
        timeline.push({ t: rec.start, kind: 'fault-on', node: f.node, text: `${f.id} ${f.kind} applied` });
        if (f.durationMs === undefined) {
          // Instant (kill, restart-node): its revert, at heal, makes sure the node runs its stack again.
          rec.end = now();
          instant.push(applied);
          return;
        }
        active.set(f.id, { f, applied, rec });
      } catch (err) {
        rec.error = err instanceof Error ? err.message : String(err);
        rec.end = now();
        timeline.push({
          t: rec.start,
          kind: 'note',
          node: f.node,
          text: `${f.id} ${f.kind} FAILED to apply: ${rec.error}`,
        });
        throw err;
      }
    };

    await phase('load', async () => {
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      const running = await startLoad({
        script: scenario.paths.loadScript,
        outDir: join(runDir, 'load'),
        registry,
        signal: opts.signal,
        env: {
          ...scenario.load.env,
          EDGES: JSON.stringify(d.edges),
          RUN_ID: runId,
          SEED: String(plan.seed),
          DURATION: `${plan.loadMs}ms`,
        },
      });
      const timers: NodeJS.Timeout[] = [];
      const failures: unknown[] = [];
      const at = (ms: number, fn: () => Promise<void>): void => {
        timers.push(
          setTimeout(
            () => void fn().catch((e: unknown) => failures.push(e)),
            Math.max(0, loadStart + ms - now()),
          ),
        );
      };
      for (const f of plan.faults) {
        at(f.at, () => applyFault(f));
        if (f.durationMs !== undefined) at(f.at + f.durationMs, () => revertFault(f.id));
      }
      for (const p of plan.publishAt) {
        at(p, async () => {
          const pub = await publishConfig(
            d,
            now,
            partitionedNow(),
            (node) => cutEnded.get(node) ?? healAt,
            plan.convergenceTimeoutMs + plan.loadMs,
          );
          timeline.push({
            t: pub.publication.at,
            kind: 'config-publish',
            text: `config v${pub.publication.version} published`,
          });
          publications.push(pub.publication);
          pubWatchers.push(pub.done);
        });
      }
      const sampler = setInterval(() => void sample(d, now(), series), 1000);
      const tail = new SampleTail(join(runDir, 'load', 'samples.jsonl'));
      const ticker = setInterval(() => {
        const { requests, errors } = tail.read();
        opts.progress?.tick({
          elapsedMs: now() - loadStart,
          totalMs: plan.loadMs,
          activeFaults: [...active.values()].map((a) => `${a.f.kind}@${a.f.node}`),
          requests,
          errors,
        });
      }, 1000);
      try {
        load = await running.done;
        const cpu = process.cpuUsage(cpu0);
        const cpuSeconds = (cpu.user + cpu.system) / 1e6;
        const wallSeconds = (performance.now() - wall0) / 1000;
        harness = { cpuSeconds, wallSeconds, shareOfOneCore: cpuSeconds / wallSeconds };
      } finally {
        timers.forEach(clearTimeout);
        clearInterval(sampler);
        clearInterval(ticker);
      }
      if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
    })();

    // ---- heal + convergence
    let ledger: LedgerRow[] = [];
    let convergeMs: number | undefined;
    await phase('heal', async () => {
      for (const id of [...active.keys()]) await revertFault(id);
      for (const a of instant.splice(0)) await a.revert();
      healAt = now();
      timeline.push({ t: healAt, kind: 'phase', text: 'all faults reverted (heal)' });
      const acked = new Set(
        (load?.samples ?? [])
          .filter((s): s is WriteSample => s.type === 'write' && s.outcome === 'ok')
          .map((s) => s.id),
      );
      const deadline = healAt + plan.convergenceTimeoutMs;
      for (;;) {
        ledger = await readWholeLedger(d).catch(() => ledger);
        const have = new Set(ledger.map((r) => r.id));
        if ([...acked].every((id) => have.has(id))) {
          convergeMs = now() - healAt;
          break;
        }
        if (now() > deadline || opts.signal.aborted) break;
        await sleep(200, opts.signal).catch(() => undefined);
      }
      // the wait is cancelled once the watchers are done: a timer left behind kept the process alive
      const idle = new AbortController();
      const waitLeft = sleep(Math.max(0, deadline - now()), AbortSignal.any([opts.signal, idle.signal]));
      await Promise.race([Promise.all(pubWatchers), waitLeft.catch(() => undefined)]);
      idle.abort();
      // a short settle so that late duplicates (a resend after heal) show up in the ledger too
      await sleep(1000, opts.signal).catch(() => undefined);
      ledger = await readWholeLedger(d).catch(() => ledger);
    })();

    // ---- checks
    await phase('checks', async () => {
      // Checks run one after another: each one's duration is the time since the previous one ended.
      let lastEnd = performance.now();
      const addCheck = (...cs: CheckResult[]): void => {
        const t = performance.now();
        const each = Math.round((t - lastEnd) / cs.length);
        lastEnd = t;
        checks.push(...cs.map((c) => ({ ...c, durationMs: c.durationMs ?? each })));
      };
      // Align the load runner's clock with the harness's (both read the same host clock).
      const start = load?.samples.find((x) => x.type === 'start');
      const shift = start ? start.epochMs - (t0Epoch + loadStart) : 0;
      const samples = (load?.samples ?? []).map((x) => ({ ...x, t: x.t + shift + loadStart }));
      const writes = samples.filter((s): s is WriteSample => s.type === 'write');
      const http = samples.filter((s): s is HttpSample => s.type === 'http');
      loadWindows = perWindow(http, faults, loadStart, loadStart + plan.loadMs);
      const runLedger = ledger.filter((r) => r.id.startsWith(`${runId}-`));
      addCheck(
        checkResumedSync({
          writes,
          ledger: runLedger,
          convergeMs,
          convergenceTimeoutMs: plan.convergenceTimeoutMs,
        }),
      );
      const restarts = Object.fromEntries(d.edges.map((e) => [e.name, d.unplannedExits(e.name)]));
      // Injected downtime: from a kill/restart/pause until the node answers a client again (or the pause ends).
      const outages: Window[] = faults
        .filter((f) => ['kill', 'restart-node', 'pause', 'node-loss'].includes(f.kind))
        .map((f) => {
          // after the kill has landed (apply done) or the pause has ended: an answer before that proves nothing
          const from = f.end ?? f.start;
          const back = http.find((x) => x.node === f.node && x.ok && x.t >= from);
          return { node: f.node, start: f.start, end: back?.t ?? Number.POSITIVE_INFINITY };
        });
      addCheck(
        checkOffline({
          samples: http,
          partitions,
          outages,
          restarts,
          minSuccessRate: scenario.checks.offline.minSuccessRate,
        }),
      );
      const uplink: Record<string, number> = {};
      for (const e of d.edges) uplink[e.name] = await d.uplinkBytes(e.name);
      const ackedIds = new Set(writes.filter((w) => w.outcome === 'ok').map((w) => w.id));
      const synced = writes.filter((w) => ackedIds.has(w.id) && runLedger.some((r) => r.id === w.id));
      addCheck(
        checkSyncEfficiency({
          uplinkBytes: uplink,
          syncedRecords: synced.length,
          payloadBytes: synced.reduce((a, w) => a + w.payloadBytes, 0),
          maxOverheadRatio: scenario.checks.syncEfficiency.maxOverheadRatio,
        }),
      );
      addCheck(checkDownlink(publications, plan.convergenceTimeoutMs));
      // A node's cgroup also holds the stressors injected into it: those nodes say nothing about the agent.
      const stressed = new Set(
        plan.faults.filter((f) => f.kind === 'cpu-stress' || f.kind === 'memory-stress').map((f) => f.node),
      );
      const usage: Record<string, { peakRssBytes: number; cpuSeconds: number }> = {};
      for (const e of d.edges) if (!stressed.has(e.name)) usage[e.name] = await d.usage(e.name);
      const ackedOnMeasured = writes.filter((w) => w.outcome === 'ok' && w.node in usage).length;
      if (Object.keys(usage).length === 0) {
        addCheck(
          notMeasured(
            'resources',
            'Resource use of the edge agents (cgroup peak memory, CPU)',
            'every edge had a stressor injected into its cgroup',
          ),
        );
      } else {
        const c = checkResources(usage, ackedOnMeasured, {
          maxPeakRssBytes: scenario.checks.resources.maxPeakRssBytes,
        });
        if (stressed.size)
          c.evidence['excluded'] = [...stressed].map((n) => `${n}: a stressor ran in its cgroup`);
        addCheck(c);
      }
      addCheck(
        checkStartup(
          await d.coldStarts(scenario.checks.startup.samples, opts.signal),
          scenario.checks.startup.maxMs,
        ),
      );
      addCheck(checkImageSize(stack.images, scenario.checks.image.maxBytes));
      if (scenario.checks.conformance) {
        const first = d.edges[0]!;
        const r = await conform({
          edge: first.url,
          hub: d.hubUrl,
          control: d.control(first.name),
          patienceMs: 15_000,
        });
        addCheck({
          id: 'conformance',
          title: 'Functional completeness: stack contract conformance',
          status: r.failed === 0 && r.notRun === 0 ? 'passed' : 'failed',
          summary: `${r.passed}/${r.cases.length} behaviours passed${
            r.failed
              ? `; failed: ${r.cases
                  .filter((c) => c.status === 'failed')
                  .map((c) => c.id)
                  .join(', ')}`
              : ''
          }`,
          metrics: {
            'conformance.pass-ratio': { value: r.passRatio, unit: 'ratio', source: 'check:conformance' },
          },
          evidence: { cases: r.cases },
        });
      } else
        addCheck(
          notMeasured(
            'conformance',
            'Functional completeness: stack contract conformance',
            'disabled in the scenario',
          ),
        );
      if (d.targetChecks) addCheck(...(await d.targetChecks(opts.signal)));
    })();
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    log.error(`campaign stopped: ${error}`);
  } finally {
    await phase('teardown', async () => {
      await dep?.teardown().catch((e: unknown) => log.error(`teardown: ${(e as Error).message}`));
      await registry.close();
    })().catch((e: unknown) => {
      error = error ?? `revert failed: ${(e as Error).message}`;
    });
  }

  const rel = (t: number): number => t - loadStart;
  for (const e of timeline) e.t = rel(e.t);
  for (const p of phases) Object.assign(p, { start: rel(p.start), end: rel(p.end) });
  for (const f of faults)
    Object.assign(f, { start: rel(f.start), end: f.end === undefined ? undefined : rel(f.end) });
  for (const m of [series.pending, series.cpu, series.memory])
    for (const pts of Object.values(m)) for (const p of pts) p.t = rel(p.t);
  const metrics: Metrics = Object.assign({}, ...checks.map((c) => c.metrics)) as Metrics;
  const scored = score(rubric, metrics);
  const record: RunRecord = {
    schema: 'edgechaos.run/v1',
    runId,
    scenario: {
      name: scenario.name,
      file: relative(repoRoot, scenario.file),
      description: scenario.description,
    },
    seed: plan.seed,
    target: { kind: scenario.target.kind },
    stack: { name: stack.name, version: stack.version, file: relative(repoRoot, stack.file) },
    rubric: { file: relative(repoRoot, scenario.paths.rubric), name: rubric.name, version: rubric.version },
    startedAt: started.toISOString(),
    endedAt: new Date().toISOString(),
    nodes: [
      { name: 'cloud', role: 'cloud', profile: 'host' },
      ...plan.nodes.map((n) => ({ name: n.name, role: 'edge' as const, profile: n.profile })),
    ],
    phases,
    timeline: timeline.sort((a, b) => a.t - b.t),
    faults,
    load: {
      script: relative(repoRoot, scenario.paths.loadScript),
      summary: load?.summary,
      samplesFile: load ? join('load', basename(load.samplesFile)) : undefined,
      windows: loadWindows.map((w) => ({ ...w, start: rel(w.start), end: rel(w.end) })),
    },
    series,
    checks,
    metrics,
    score: scored,
    harness,
    gatesPassed: error === undefined && scored.gatesPassed && checks.every((c) => c.status !== 'failed'),
    ...(error ? { error } : {}),
  };
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(record, null, 2));
  if (opts.reports !== false) {
    // Reports never change the verdict; a missing Chromium only costs the PDF (the error says how to get it).
    try {
      const written = await writeReports(runDir, record, { signal: opts.signal });
      log.info(
        `reports: ${Object.entries(written.timings)
          .map(([k, v]) => `${k} ${v} ms`)
          .join(', ')}`,
      );
    } catch (err) {
      log.warn(
        `reports incomplete: ${err instanceof Error ? err.message : String(err)} (regenerate with: edgechaos report ${runDir})`,
      );
    }
  }
  return { record, runDir };
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

function isCloudCut(f: PlannedFault): boolean {
  if (f.kind !== 'partition') return false;
  const between = f.params['between'];
  return between === undefined || between === 'edge-cloud';
}

async function readWholeLedger(d: CampaignDeployment): Promise<LedgerRow[]> {
  const all: LedgerRow[] = [];
  for (const e of d.edges) all.push(...(await readLedger(d.hubUrl, e.name)).rows);
  return all;
}

async function sample(d: CampaignDeployment, t: number, series: RunRecord['series']): Promise<void> {
  const push = (m: Record<string, SeriesPoint[]>, node: string, v: number): void =>
    void (m[node] ??= []).push({ t, v });
  await Promise.all(
    d.edges.map(async (e) => {
      const st = await edgeStatus(e.url).catch(() => undefined);
      if (st) push(series.pending, e.name, st.pending);
      const u = await d.usage(e.name).catch(() => undefined);
      if (u) {
        push(series.cpu, e.name, u.cpuSeconds);
        push(series.memory, e.name, u.memoryBytes);
      }
    }),
  );
}

/** PUT a new config on the hub, then watch every edge until it reports that version (or time runs out). */
async function publishConfig(
  d: CampaignDeployment,
  now: () => number,
  partitioned: Set<string>,
  healedAt: (node: string) => number | undefined,
  timeoutMs: number,
): Promise<{ publication: Publication; done: Promise<void> }> {
  const a = await putConfig(d.hubUrl, { model: `m-${Date.now()}`, publishedBy: 'edgechaos' });
  const at = now();
  const publication: Publication = { version: a.version, at, reached: {} };
  const done = Promise.all(
    d.edges.map(async (e) => {
      const afterHeal = partitioned.has(e.name);
      publication.reached[e.name] = { ms: undefined, afterHeal };
      while (now() - at < timeoutMs) {
        const st = await edgeStatus(e.url).catch(() => undefined);
        if (st && st.configVersion >= publication.version) {
          const from = afterHeal ? (healedAt(e.name) ?? at) : at;
          publication.reached[e.name] = { ms: Math.max(0, now() - from), afterHeal };
          return;
        }
        await sleep(100);
      }
    }),
  ).then(() => undefined);
  return { publication, done };
}
