import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../config/load.ts';
import { ScenarioError } from '../core/errors.ts';

/**
 * A tournament file (TypeScript, like a scenario): every submission × scenario × repetition, with the
 * same seeds for everyone. Paths are relative to the tournament file.
 */
const name = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be kebab-case (it names directories)');

export const tournamentSchema = z
  .object({
    name,
    description: z.string().default(''),
    /** The competitors: a name and a stack manifest (a file, or a submission folder holding one). */
    submissions: z
      .array(z.object({ name, stack: z.string().min(1) }).strict())
      .min(1, 'a tournament needs at least one submission'),
    /** Scenario files. */
    scenarios: z.array(z.string().min(1)).min(1, 'a tournament needs at least one scenario'),
    target: z.enum(['local', 'kube', 'kube-local', 'kind', 'ssh']).default('local'),
    repetitions: z.number().int().min(1).max(100).default(3),
    /** One seed per repetition, the same for every submission (default: the scenario's seed + repetition − 1). */
    seeds: z.array(z.number().int().nonnegative()).optional(),
    /** Rubric file for every run (default: each scenario's). */
    rubric: z.string().optional(),
    /** interleaved: A B C A B C … (machine drift hits everyone alike); sequential: A A B B C C. */
    order: z.enum(['interleaved', 'sequential']).default('interleaved'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.seeds && t.seeds.length !== t.repetitions)
      ctx.addIssue({
        code: 'custom',
        path: ['seeds'],
        message: `one seed per repetition: ${t.repetitions} repetition(s), ${t.seeds.length} seed(s)`,
      });
    const seen = new Set<string>();
    t.submissions.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: ['submissions', i, 'name'],
          message: `duplicate submission ${s.name}`,
        });
      seen.add(s.name);
    });
  });

export type TournamentInput = z.input<typeof tournamentSchema>;
export type Tournament = z.output<typeof tournamentSchema> & {
  file: string;
  /** Resolved absolute paths. */
  paths: { submissions: Record<string, string>; scenarios: string[]; rubric?: string };
};

export function defineTournament(t: TournamentInput): TournamentInput {
  return t;
}

/** Load and validate a tournament file; every referenced file must exist (errors name file and field). */
export async function loadTournament(file: string): Promise<Tournament> {
  const t = await loadConfig(file, tournamentSchema, 'tournament');
  const base = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const need = (p: string, field: string, what: string, dirOk = false): void => {
    const ok = existsSync(p) && (statSync(p).isFile() || (dirOk && statSync(p).isDirectory()));
    if (!ok)
      throw new ScenarioError(`${what} ${relative(process.cwd(), p) || p} does not exist`, { file, field });
  };
  const submissions: Record<string, string> = {};
  t.submissions.forEach((s, i) => {
    need(abs(s.stack), `submissions[${i}].stack`, 'stack manifest', true);
    submissions[s.name] = abs(s.stack);
  });
  const scenarios = t.scenarios.map((s, i) => {
    need(abs(s), `scenarios[${i}]`, 'scenario');
    return abs(s);
  });
  if (t.rubric) need(abs(t.rubric), 'rubric', 'rubric');
  return {
    ...t,
    file: resolve(file),
    paths: { submissions, scenarios, ...(t.rubric ? { rubric: abs(t.rubric) } : {}) },
  };
}

/** One run of the tournament. `key` is stable and names its directory. */
export interface PlannedRun {
  key: string;
  submission: string;
  /** Index into `scenarios`. */
  scenario: number;
  scenarioName: string;
  /** 1-based. */
  repetition: number;
  seed: number;
}

/**
 * Pure: the runs in the order they are made. Interleaved: for each repetition, for each scenario, every
 * submission in turn (A B C A B C …); sequential: each submission's runs one after another.
 */
export function planTournament(
  t: Pick<Tournament, 'submissions' | 'repetitions' | 'seeds' | 'order'>,
  scenarios: readonly { name: string; seed?: number | undefined }[],
): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const seed = (sc: number, rep: number): number =>
    t.seeds?.[rep - 1] ?? (scenarios[sc]!.seed ?? 1) + rep - 1;
  const one = (sub: string, sc: number, rep: number): PlannedRun => ({
    key: `${sub}--${scenarios[sc]!.name}--r${rep}`,
    submission: sub,
    scenario: sc,
    scenarioName: scenarios[sc]!.name,
    repetition: rep,
    seed: seed(sc, rep),
  });
  const subs = t.submissions.map((s) => s.name);
  const reps = Array.from({ length: t.repetitions }, (_, i) => i + 1);
  const scs = scenarios.map((_, i) => i);
  if (t.order === 'interleaved') {
    for (const rep of reps) for (const sc of scs) for (const sub of subs) runs.push(one(sub, sc, rep));
  } else for (const sub of subs) for (const sc of scs) for (const rep of reps) runs.push(one(sub, sc, rep));
  return runs;
}
