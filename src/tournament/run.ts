import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { runCampaign } from '../campaign/run.ts';
import { loadScenario } from '../campaign/scenario.ts';
import { formatDuration } from '../core/duration.ts';
import { ScenarioError, UsageError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { reportsDir } from '../core/paths.ts';
import { loadRunRecord } from '../record/load.ts';
import { writeReports } from '../report/index.ts';
import {
  buildLeaderboard,
  renderLeaderboardHtml,
  renderLeaderboardJUnit,
  type Leaderboard,
} from '../report/leaderboard.ts';
import { loadTournament, planTournament, type PlannedRun, type Tournament } from './define.ts';
import { anonymiseTree, replacementsFor } from './anonymise.ts';
import { loadOrCreateKey, pseudonym } from './pseudonym.ts';
import {
  eta,
  newState,
  readState,
  resumePlan,
  withCompleted,
  writeAtomic,
  type TournamentState,
} from './state.ts';
import { findManifest, formatProblem } from './submission.ts';

const log = logger('tournament');

export interface TournamentOptions {
  file: string;
  /** Output dir (default reports/<tournament name>); the leaderboard is published here. */
  outDir?: string;
  /** Continue a tournament whose state file is in the output dir. */
  resume?: boolean;
  /** Publish pseudonyms instead of submission names. */
  anonymise?: boolean;
  /** The organisers' private pseudonym key (default: <out>.pseudonym-key beside the output dir). */
  keyFile?: string;
  signal: AbortSignal;
  /** One line per event (a run started, a run done with the ETA). */
  progress?: (line: string) => void;
}

export interface TournamentResult {
  outDir: string;
  state: TournamentState;
  /** Undefined when interrupted before the end. */
  leaderboard?: Leaderboard;
  files?: { html: string; json: string; junit: string };
  interrupted: boolean;
}

export const STATE_FILE = 'tournament-state.json';

/**
 * Run a tournament: every planned run not yet completed, one at a time, each a full campaign in this
 * process (fresh deployment, fresh data dir, torn down after); the state file is rewritten atomically
 * after each. Then the leaderboard from every completed run.
 */
export async function runTournament(o: TournamentOptions): Promise<TournamentResult> {
  const t = await loadTournament(o.file);
  const scenarios = await Promise.all(t.paths.scenarios.map((s) => loadScenario(s)));
  const outDir = resolve(o.outDir ?? join(reportsDir(), t.name));
  const key = o.anonymise ? loadOrCreateKey(o.keyFile ?? defaultKeyFile(outDir), outDir) : undefined;
  // The published names name the run dirs too: anonymised runs are stored under their pseudonyms.
  const published = new Map(t.submissions.map((s) => [key ? pseudonym(key, s.name) : s.name, s.name]));
  const plan = planTournament(
    { ...t, submissions: [...published.keys()].map((name) => ({ name, stack: '' })) },
    scenarios,
  );
  const stacks = manifests(t);
  mkdirSync(join(outDir, 'runs'), { recursive: true });
  const stateFile = join(outDir, STATE_FILE);
  const previous = readState(stateFile);
  if (previous && !o.resume)
    throw new UsageError(
      `${stateFile} exists: this tournament was started before; continue it with --resume, or choose another --out`,
    );
  let state = previous ?? newState(t.name, plan);
  if (!previous) writeAtomic(stateFile, JSON.stringify(state, null, 2));
  const { done, todo } = resumePlan(state, plan, stateFile);
  if (previous) log.info(`resuming: ${done.length} run(s) completed, ${todo.length} to go`);
  const say = o.progress ?? ((l: string) => log.info(l));
  const started = Date.now();
  for (const [i, run] of todo.entries()) {
    if (o.signal.aborted) break;
    const n = done.length + i + 1;
    const dir = join(outDir, 'runs', run.key);
    if (existsSync(dir)) {
      // Not in the state file: half-finished (killed during the run, or before its state was written).
      log.warn(`discarding the half-finished run ${run.key} (${dir}); running it again`);
      rmSync(dir, { recursive: true, force: true });
    }
    say(
      `[${n}/${plan.length}] ${run.submission} × ${run.scenarioName} #${run.repetition} (seed ${run.seed}) …`,
    );
    const t0 = Date.now();
    const real = published.get(run.submission)!;
    const record = await oneRun(t, run, stacks.get(real)!, dir, o.signal);
    if (record.interrupted || o.signal.aborted) {
      say(`[${n}/${plan.length}] interrupted: ${run.key} is not completed (--resume reruns it)`);
      break;
    }
    try {
      await writeReports(dir, record, { pdf: false, allure: false, signal: o.signal });
    } catch (err) {
      log.warn(`reports of ${run.key} incomplete: ${(err as Error).message}`);
    }
    if (key) {
      // What the leaderboard links to is published too: the run's files must name no submission.
      const reps = replacementsFor(
        {
          name: real,
          pseudonym: run.submission,
          stackName: record.stack.name,
          manifest: stacks.get(real)!,
          recordedManifest: record.stack.file,
        },
        [...published]
          .filter(([, n]) => n !== real)
          .map(([p, n]) => ({ name: n, pseudonym: p, manifest: stacks.get(n)! })),
        process.cwd(),
      );
      const { removed } = anonymiseTree(dir, reps);
      if (removed.length)
        log.warn(`${run.key}: removed ${removed.join(', ')} (binary or link naming a submission)`);
    }
    const wallMs = Date.now() - t0;
    state = withCompleted(state, {
      key: run.key,
      runId: record.runId,
      dir: join('runs', run.key),
      percent: record.score.percent,
      gatesPassed: record.gatesPassed,
      wallMs,
      finishedAt: new Date().toISOString(),
    });
    writeAtomic(stateFile, JSON.stringify(state, null, 2));
    const left = plan.length - state.completed.length;
    const e = eta(state.completed, left);
    say(
      `[${n}/${plan.length}] ${run.key}: ${record.score.percent.toFixed(1)}%${record.gatesPassed ? '' : ' (gate FAIL)'} in ${formatDuration(wallMs)} · elapsed ${formatDuration(Date.now() - started)} · ${left ? `ETA ${e === undefined ? '?' : formatDuration(e)} (${left} left)` : 'done'}`,
    );
  }
  if (state.completed.length < plan.length) return { outDir, state, interrupted: true };
  const leaderboard = publish(t.name, outDir, plan, state);
  return { outDir, state, leaderboard: leaderboard.board, files: leaderboard.files, interrupted: false };
}

export function defaultKeyFile(outDir: string): string {
  return join(dirname(outDir), `${basename(outDir)}.pseudonym-key`);
}

/** Each submission's manifest (a folder holds one); a missing one is an error before any run. */
function manifests(t: Tournament): Map<string, string> {
  const out = new Map<string, string>();
  t.submissions.forEach((s, i) => {
    const m = findManifest(t.paths.submissions[s.name]!);
    if (typeof m !== 'string')
      throw new ScenarioError(formatProblem(m), { file: t.file, field: `submissions[${i}].stack` });
    out.set(s.name, m);
  });
  return out;
}

async function oneRun(t: Tournament, run: PlannedRun, stackFile: string, dir: string, signal: AbortSignal) {
  // A fresh scenario object per run: nothing of one run's planning leaks into the next.
  const scenario = await loadScenario(t.paths.scenarios[run.scenario]!);
  scenario.target.kind = t.target;
  if (t.paths.rubric) scenario.paths.rubric = t.paths.rubric;
  const { record } = await runCampaign({
    scenario,
    seed: run.seed,
    stackFile,
    target: t.target,
    signal,
    outDir: dir,
    label: run.submission,
  });
  return record;
}

/** The leaderboard of every completed run, written as index.html, leaderboard.json and junit.xml. */
export function publish(
  name: string,
  outDir: string,
  plan: readonly PlannedRun[],
  state: TournamentState,
): { board: Leaderboard; files: { html: string; json: string; junit: string } } {
  const runs = state.completed.map((c) => {
    const p = plan.find((x) => x.key === c.key)!;
    const dir = join(outDir, c.dir);
    return {
      submission: p.submission,
      scenario: p.scenarioName,
      repetition: p.repetition,
      seed: p.seed,
      dir,
      record: loadRunRecord(dir),
    };
  });
  const board = buildLeaderboard(name, runs);
  const files = {
    html: join(outDir, 'index.html'),
    json: join(outDir, 'leaderboard.json'),
    junit: join(outDir, 'junit.xml'),
  };
  writeFileSync(files.html, renderLeaderboardHtml(board, { pageDir: outDir }));
  writeFileSync(
    files.json,
    JSON.stringify(
      {
        ...board,
        entries: board.entries.map((e) => ({
          ...e,
          runs: e.runs.map((r) => ({ ...r, dir: join('runs', basename(r.dir)) })),
        })),
      },
      null,
      2,
    ),
  );
  writeFileSync(files.junit, renderLeaderboardJUnit(board));
  return { board, files };
}
