import { resolve } from 'node:path';
import { readRunDir } from '../../report/run-dir.ts';
import { ExitCode } from '../../core/errors.ts';
import { repoRoot } from '../../core/paths.ts';
import { loadRubric } from '../../scoring/rubric.ts';
import { score } from '../../scoring/score.ts';
import { printJson, table } from '../output.ts';

/** Recompute a run's score from its stored metrics, with the rubric it used or another one. */
export async function scoreCommand(
  runDir: string,
  opts: { rubric?: string; json?: boolean },
): Promise<number> {
  const rec = readRunDir(runDir);
  const rubricFile = opts.rubric ?? resolve(repoRoot, rec.rubric.file);
  const rubric = await loadRubric(rubricFile);
  const s = score(rubric, rec.metrics);
  if (opts.json) printJson(s);
  else {
    console.log(
      table(
        s.criteria.map((c) => [
          c.id,
          c.points === undefined ? 'not measured' : `${c.points.toFixed(1)} / ${c.weight}`,
          c.terms.map((t) => `${t.metric}=${t.measured ? t.measured.value : '-'}`).join(' '),
        ]),
        ['criterion', 'points', 'measured'],
      ),
    );
    console.log(
      `\nSCORE ${s.total.toFixed(1)} / ${s.possible} (${s.percent.toFixed(1)}%) — rubric ${s.rubric.name} v${s.rubric.version}`,
    );
    for (const g of s.failedGates) console.log(`gate failed: ${g}`);
  }
  return s.gatesPassed ? ExitCode.Pass : ExitCode.GateFailed;
}
