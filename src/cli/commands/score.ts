import { join, resolve } from 'node:path';
import { ExitCode, ScenarioError } from '../../core/errors.ts';
import { judge, loadEvidence } from '../../campaign/evidence.ts';
import { loadRunRecord } from '../../record/load.ts';
import type { RunRecord } from '../../record/schema.ts';
import { formatMetric, formatRuntimes } from '../../report/format.ts';
import { loadRubric, parseRubric } from '../../scoring/rubric.ts';
import { score, scoringInput } from '../../scoring/score.ts';
import type { CriterionResult, Rubric, ScoreResult } from '../../scoring/types.ts';
import { printJson, table } from '../output.ts';

/**
 * The rubric to re-score with: one given explicitly (`--rubric FILE`), else the rubric stored as
 * DATA in run.json. A rubric file path read from a run directory is never loaded: loading a
 * TypeScript rubric executes it, and a copied run directory must not be able to run code.
 */
async function rubricFor(runDir: string, rec: RunRecord, explicit: string | undefined): Promise<Rubric> {
  if (explicit !== undefined) return loadRubric(explicit);
  const file = join(resolve(runDir), 'run.json');
  if (rec.rubric.data === undefined)
    throw new ScenarioError(
      `this run stores no rubric data (recorded by an older harness); re-score it with an explicit rubric: edgechaos score ${runDir} --rubric scenarios/rubric.ts`,
      { file, field: 'rubric.data' },
    );
  return parseRubric(rec.rubric.data, `${file} (rubric.data)`);
}

/** Re-score a run: the rubric applied to the checks (metrics, not-provided evidence) stored in run.json. */
export async function rescore(runDir: string, opts: { rubric?: string } = {}): Promise<ScoreResult> {
  const rec = loadRunRecord(runDir);
  const rubric = await rubricFor(runDir, rec, opts.rubric);
  // With the evidence stored, the checks are judged again by this harness's checks (newer ones may
  // judge differently); older records are re-weighted from their stored verdicts.
  const checks = rec.evidence && !rec.interrupted ? judge(loadEvidence(runDir, rec.evidence)) : rec.checks;
  const input = scoringInput(checks, { interrupted: rec.interrupted === true });
  // Records written before every metric came from a check: their metrics map is the source.
  const metrics = checks.length > 0 ? input.metrics : rec.metrics;
  const s = score(rubric, metrics, input);
  if (s.possible === 0 && !s.interrupted)
    throw new ScenarioError(
      `nothing rubric ${rubric.name} v${rubric.version} scores was measured in this run: a score of 0 / 0 means nothing`,
      { file: opts.rubric ?? join(resolve(runDir), 'run.json'), field: 'criteria' },
    );
  return s;
}

const num = (x: number, digits = 1): string => (Number.isInteger(x) ? String(x) : x.toFixed(digits));

function pointsCell(c: CriterionResult): string {
  if (c.points === undefined) return c.status === 'emulated' ? 'emulated, not scored' : 'not measured';
  const p = `${c.points.toFixed(1)} / ${num(c.weight)}`;
  if (c.status === 'gate-failed') return `${p} (gate failed)`;
  if (c.status === 'not-provided') return `${p} (not provided)`;
  return p;
}

function measuredCell(c: CriterionResult): string {
  return c.terms
    .map((t) => {
      if (t.measured && t.status !== 'not-provided')
        return `${t.metric}=${formatMetric(t.metric, t.measured)}`;
      return `${t.metric}=${t.status === 'not-provided' ? 'not provided' : t.status === 'emulated' ? 'emulated, not scored' : '-'}`;
    })
    .join(' ');
}

/** The score for people: what zeroed points first, then the table, then the total. */
export function formatScore(s: ScoreResult): string {
  const lines: string[] = [];
  if (s.interrupted) lines.push('RUN INTERRUPTED: scored as nothing', '');
  const failed = s.failedGates.filter((g) => !/interrupted/.test(g) || !s.interrupted);
  if (failed.length) {
    lines.push(`${failed.length} gate(s) failed:`);
    for (const g of failed) lines.push(`  ✗ ${g}`);
    lines.push('');
  }
  if (s.unmeasuredGates?.length) {
    lines.push(`${s.unmeasuredGates.length} gate(s) not measured:`);
    for (const g of s.unmeasuredGates) lines.push(`  ? ${g}`);
    lines.push('');
  }
  lines.push(
    table(
      s.criteria.map((c) => [c.id, pointsCell(c), measuredCell(c)]),
      ['criterion', 'points', 'measured'],
    ),
  );
  const why = s.criteria.filter((c) => c.reason && c.status !== 'scored');
  if (why.length) {
    lines.push('');
    for (const c of why) lines.push(`${c.id}: ${c.reason}`);
  }
  lines.push(
    '',
    `SCORE ${s.total.toFixed(1)} / ${num(s.possible)} (${s.percent.toFixed(1)}%) — rubric ${s.rubric.name} v${s.rubric.version}`,
  );
  return lines.join('\n');
}

/** Recompute a run's score from its stored evidence, with the rubric stored in it or another one. */
export async function scoreCommand(
  runDir: string,
  opts: { rubric?: string; json?: boolean },
): Promise<number> {
  const s = await rescore(runDir, opts);
  if (opts.json) printJson(s);
  else {
    console.log(formatScore(s));
    // how each node's stack ran (ssh: a board without runc fell back to the process)
    const runtimes = formatRuntimes(loadRunRecord(runDir).evidence?.runtimes);
    if (runtimes) console.log(`runtime: ${runtimes}`);
  }
  return s.gatesPassed ? ExitCode.Pass : ExitCode.GateFailed;
}
