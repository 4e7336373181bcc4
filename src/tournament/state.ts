import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { ScenarioError } from '../core/errors.ts';
import type { PlannedRun } from './define.ts';

/**
 * The tournament's state file (`tournament-state.json` in its output dir): the plan and every completed
 * run, rewritten atomically (write, fsync, rename) after each run. A run is complete once it is listed
 * here, and only then: a run directory that exists but is not listed is a half-finished run (the
 * tournament was killed during it, or between its run.json and this file) and is discarded and rerun.
 */
export const STATE_SCHEMA = 'edgechaos.tournament-state/v1';

const completedSchema = z.object({
  key: z.string(),
  runId: z.string(),
  dir: z.string(),
  percent: z.number(),
  gatesPassed: z.boolean(),
  wallMs: z.number(),
  finishedAt: z.string(),
});
export type CompletedRun = z.infer<typeof completedSchema>;

export const stateSchema = z.object({
  schema: z.literal(STATE_SCHEMA),
  tournament: z.string(),
  /** The planned run keys, in order: a resume with a different plan is refused. */
  plan: z.array(z.string()),
  completed: z.array(completedSchema),
  startedAt: z.string(),
});
export type TournamentState = z.infer<typeof stateSchema>;

export function newState(name: string, plan: readonly PlannedRun[], now = new Date()): TournamentState {
  return {
    schema: STATE_SCHEMA,
    tournament: name,
    plan: plan.map((p) => p.key),
    completed: [],
    startedAt: now.toISOString(),
  };
}

/** Write `text` to `file` atomically: a reader (or a crash) sees the old file or the new one, never half. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function readState(file: string): TournamentState | undefined {
  if (!existsSync(file)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ScenarioError(`tournament state is not valid JSON: ${(err as Error).message}`, { file });
  }
  const r = stateSchema.safeParse(v);
  if (!r.success)
    throw new ScenarioError(`invalid tournament state: ${r.error.issues[0]!.message}`, { file });
  return r.data;
}

/**
 * Pure: what a (re)start has to do. Refuses a plan that differs from the recorded one, and a state
 * that lists a run twice or a run not in the plan (it would be lost or counted twice).
 */
export function resumePlan(
  state: TournamentState,
  plan: readonly PlannedRun[],
  file: string,
): { done: PlannedRun[]; todo: PlannedRun[] } {
  const keys = plan.map((p) => p.key);
  if (keys.join('\n') !== state.plan.join('\n'))
    throw new ScenarioError(
      'the planned runs differ from this state (the tournament file or --anonymise changed): start afresh in another --out, or restore them',
      { file },
    );
  const seen = new Set<string>();
  for (const c of state.completed) {
    if (seen.has(c.key)) throw new ScenarioError(`run ${c.key} is listed twice`, { file });
    if (!keys.includes(c.key)) throw new ScenarioError(`run ${c.key} is not in the plan`, { file });
    seen.add(c.key);
  }
  return { done: plan.filter((p) => seen.has(p.key)), todo: plan.filter((p) => !seen.has(p.key)) };
}

/** Pure: the state with one more completed run (refused if it is already there). */
export function withCompleted(state: TournamentState, run: CompletedRun): TournamentState {
  if (state.completed.some((c) => c.key === run.key)) throw new Error(`run ${run.key} completed twice`);
  return { ...state, completed: [...state.completed, run] };
}

/** Pure: the ETA from the mean wall time of the runs completed so far (undefined before the first). */
export function eta(
  completed: readonly Pick<CompletedRun, 'wallMs'>[],
  remaining: number,
): number | undefined {
  if (completed.length === 0) return undefined;
  return (completed.reduce((a, c) => a + c.wallMs, 0) / completed.length) * remaining;
}
