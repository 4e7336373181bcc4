import { join } from 'node:path';
import { revertLastFirst } from '../core/cleanup/revert-stack.ts';
import type { Publication } from '../checks/downlink.ts';
import type { Window } from '../checks/offline.ts';
import { edgeStatus, putConfig } from '../contract/client.ts';
import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import { sleep } from '../core/deadline.ts';
import { TargetError } from '../core/errors.ts';
import { runnerStartEpoch, startLoad, type LoadResult } from '../load/run-load.ts';
import { SampleTail } from '../load/tail.ts';
import type { AppliedFault, CampaignDeployment } from '../targets/campaign-port.ts';
import { faultInput, type Plan, type PlannedFault } from './plan.ts';
import type { FaultRecord, RunRecord, SeriesPoint, TimelineEvent } from './record.ts';
import type { Scenario } from './scenario.ts';

/** Progress of a campaign for people (the CLI prints it). */
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

/** One clock for the whole run: ms since the campaign started (monotonic). */
export class RunClock {
  private readonly t0 = performance.now();
  readonly t0Epoch = Date.now();
  /** When the load phase started, on this clock. */
  loadStart = 0;
  now(): number {
    return Math.round(performance.now() - this.t0);
  }
}

/** What the timeline records as it goes; times on the run clock until the record shifts them. */
export class RunLog {
  readonly timeline: TimelineEvent[] = [];
  readonly phases: RunRecord['phases'] = [];
  readonly faults: FaultRecord[] = [];
  readonly series: RunRecord['series'] = { pending: {}, cpu: {}, memory: {} };
  /** Edge ↔ cloud cuts, once reverted. */
  readonly partitions: Window[] = [];
  readonly publications: Publication[] = [];
  constructor(readonly clock: RunClock) {}

  event(kind: TimelineEvent['kind'], text: string, node?: string, t = this.clock.now()): void {
    this.timeline.push({ t, kind, text, ...(node ? { node } : {}) });
  }

  /** Run a named phase, recording its span. */
  async phase<T>(name: string, progress: Progress | undefined, fn: () => Promise<T>): Promise<T> {
    const start = this.clock.now();
    progress?.phase(name);
    this.event('phase', `${name} starts`, undefined, start);
    try {
      return await fn();
    } finally {
      this.phases.push({ name, start, end: this.clock.now() });
    }
  }
}

/** Faults applied so far and still active, with their revert. */
export class FaultSchedule {
  private readonly active = new Map<string, { f: PlannedFault; applied: AppliedFault; rec: FaultRecord }>();
  private readonly instant: AppliedFault[] = [];
  /** When each node's last cloud cut ended (for downlink after heal). */
  readonly cutEnded = new Map<string, number>();

  constructor(
    private readonly log: RunLog,
    private readonly dep: CampaignDeployment,
    private readonly registry: CleanupRegistry,
    private readonly signal: AbortSignal,
  ) {}

  /** Nodes cut off from the cloud right now. */
  partitioned(): Set<string> {
    return new Set([...this.active.values()].filter((a) => isCloudCut(a.f)).map((a) => a.f.node));
  }

  activeNames(): string[] {
    return [...this.active.values()].map((a) => `${a.f.kind}@${a.f.node}`);
  }

  async apply(f: PlannedFault): Promise<void> {
    const now = (): number => this.log.clock.now();
    const rec: FaultRecord = {
      id: f.id,
      kind: f.kind,
      node: f.node,
      params: f.params,
      start: now(),
      end: undefined,
    };
    this.log.faults.push(rec);
    try {
      const applied = await this.dep.applyFault(faultInput(f), this.registry, this.signal);
      this.log.event('fault-on', `${f.id} ${f.kind} applied`, f.node, rec.start);
      if (f.durationMs === undefined) {
        // Instant (kill, restart-node): its revert, at heal, makes sure the node runs its stack again.
        rec.end = now();
        this.instant.push(applied);
        return;
      }
      this.active.set(f.id, { f, applied, rec });
    } catch (err) {
      rec.error = err instanceof Error ? err.message : String(err);
      rec.end = now();
      this.log.event('note', `${f.id} ${f.kind} FAILED to apply: ${rec.error}`, f.node, rec.start);
      throw err;
    }
  }

  async revert(id: string): Promise<void> {
    const a = this.active.get(id);
    if (!a) return;
    this.active.delete(id);
    await a.applied.revert();
    a.rec.end = this.log.clock.now();
    this.log.event('fault-off', `${a.f.id} ${a.f.kind} reverted`, a.f.node, a.rec.end);
    if (isCloudCut(a.f)) {
      this.log.partitions.push({ node: a.f.node, start: a.rec.start, end: a.rec.end });
      this.cutEnded.set(a.f.node, a.rec.end);
    }
  }

  /** Heal: revert every fault still applied (and the instant ones' follow-ups), last first. */
  async revertAll(): Promise<void> {
    const instant = this.instant
      .splice(0)
      .map((a, i) => ({ what: `instant fault ${i + 1}`, revert: () => a.revert() }));
    const held = [...this.active.keys()].map((id) => ({
      what: `fault ${id}`,
      revert: () => this.revert(id),
    }));
    await revertLastFirst([...instant, ...held]);
  }
}

export function isCloudCut(f: Pick<PlannedFault, 'kind' | 'params'>): boolean {
  if (f.kind !== 'partition') return false;
  const between = f.params['between'];
  return between === undefined || between === 'edge-cloud';
}

export interface TimelineOutcome {
  load: LoadResult | undefined;
  harness: RunRecord['harness'];
  /** Watchers of config publications: each resolves once every edge reports the version (or times out). */
  pubWatchers: Promise<void>[];
}

/**
 * The load phase: the load runner starts, faults are applied and reverted at their offsets, config is
 * published, the harness samples each edge once a second. Resolves when the load runner ends.
 */
export async function runTimeline(a: {
  scenario: Scenario;
  plan: Plan;
  runId: string;
  runDir: string;
  dep: CampaignDeployment;
  registry: CleanupRegistry;
  log: RunLog;
  schedule: FaultSchedule;
  signal: AbortSignal;
  progress: Progress | undefined;
  /** When the heal happened, once it has (downlink to partitioned edges is timed from it). */
  healAt: () => number | undefined;
  /** Ends the publications' watchers (they would otherwise poll until their timeout). */
  watchStop: AbortSignal;
  /** `--load-replicas N`: the runner as a Kubernetes Job of N segments (the target's startLoadReplicas). */
  loadReplicas?: number;
}): Promise<TimelineOutcome> {
  const { plan, dep, log, schedule } = a;
  const clock = log.clock;
  const out: TimelineOutcome = { load: undefined, harness: undefined, pubWatchers: [] };
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const loadOpts = {
    script: a.scenario.paths.loadScript,
    outDir: join(a.runDir, 'load'),
    registry: a.registry,
    signal: a.signal,
    env: {
      ...a.scenario.load.env,
      EDGES: JSON.stringify(dep.edges),
      RUN_ID: a.runId,
      SEED: String(plan.seed),
      DURATION: `${plan.loadMs}ms`,
    },
  };
  const replicas = a.loadReplicas;
  let running;
  if (replicas === undefined) running = await startLoad(loadOpts);
  else if (dep.startLoadReplicas) running = await dep.startLoadReplicas(loadOpts, replicas);
  else throw new TargetError(`--load-replicas: target ${dep.target} cannot run a load Job`);
  clock.loadStart = await runnerStarted(
    replicas === undefined
      ? [join(loadOpts.outDir, 'samples.jsonl')]
      : Array.from({ length: replicas }, (_, i) => join(loadOpts.outDir, `segment-${i}`, 'samples.jsonl')),
    clock,
    running.done,
    a.signal,
  );
  const timers: NodeJS.Timeout[] = [];
  const failures: unknown[] = [];
  const at = (ms: number, fn: () => Promise<void>): void => {
    timers.push(
      setTimeout(
        () => void fn().catch((e: unknown) => failures.push(e)),
        Math.max(0, clock.loadStart + ms - clock.now()),
      ),
    );
  };
  for (const f of plan.faults) {
    at(f.at, () => schedule.apply(f));
    if (f.durationMs !== undefined) at(f.at + f.durationMs, () => schedule.revert(f.id));
  }
  for (const p of plan.publishAt)
    at(p, async () => {
      const pub = await publishConfig(
        dep,
        () => clock.now(),
        schedule.partitioned(),
        (node) => schedule.cutEnded.get(node) ?? a.healAt(),
        plan.convergenceTimeoutMs + plan.loadMs,
        a.watchStop,
      );
      log.event(
        'config-publish',
        `config v${pub.publication.version} published`,
        undefined,
        pub.publication.at,
      );
      log.publications.push(pub.publication);
      out.pubWatchers.push(pub.done);
    });
  const sampler = setInterval(() => void sample(dep, clock.now(), log.series), 1000);
  const tail = new SampleTail(join(a.runDir, 'load', 'samples.jsonl'));
  const ticker = setInterval(() => {
    const { requests, errors } = tail.read();
    a.progress?.tick({
      elapsedMs: clock.now() - clock.loadStart,
      totalMs: plan.loadMs,
      activeFaults: schedule.activeNames(),
      requests,
      errors,
    });
  }, 1000);
  try {
    out.load = await running.done;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const wallSeconds = (performance.now() - wall0) / 1000;
    out.harness = { cpuSeconds, wallSeconds, shareOfOneCore: cpuSeconds / wallSeconds };
  } finally {
    timers.forEach(clearTimeout);
    clearInterval(sampler);
    clearInterval(ticker);
  }
  if (failures.length) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
  return out;
}

/**
 * When the load runner's own t = 0 was, on the run clock: the scenario's fault and publication
 * offsets count from it, as the load script's stages do. Not from the runner's spawn: a loaded
 * machine took 1.7–3.6 s to start it (tsx, imports), which put a short scenario's first partition
 * before any request. If the runner ends without starting, the spawn time stays.
 */
async function runnerStarted(
  files: readonly string[],
  clock: RunClock,
  done: Promise<unknown>,
  signal: AbortSignal,
): Promise<number> {
  let ended = false;
  void done.then(
    () => (ended = true),
    () => (ended = true),
  );
  for (;;) {
    const epoch = runnerStartEpoch(files);
    if (epoch !== undefined) return Math.max(clock.loadStart, epoch - clock.t0Epoch);
    if (ended) return clock.loadStart;
    await sleep(5, signal);
  }
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
  stop: AbortSignal,
): Promise<{ publication: Publication; done: Promise<void> }> {
  const a = await putConfig(d.hubUrl, { model: `m-${Date.now()}`, publishedBy: 'edgechaos' });
  const at = now();
  const publication: Publication = { version: a.version, at, reached: {} };
  const done = Promise.all(
    d.edges.map(async (e) => {
      const afterHeal = partitioned.has(e.name);
      publication.reached[e.name] = { ms: undefined, afterHeal };
      while (now() - at < timeoutMs && !stop.aborted) {
        const st = await edgeStatus(e.url).catch(() => undefined);
        if (st && st.configVersion >= publication.version) {
          const from = afterHeal ? (healedAt(e.name) ?? at) : at;
          publication.reached[e.name] = { ms: Math.max(0, now() - from), afterHeal };
          return;
        }
        await sleep(100, stop).catch(() => undefined);
      }
    }),
  ).then(() => undefined);
  return { publication, done };
}
