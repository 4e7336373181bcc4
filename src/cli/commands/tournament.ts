import { relative } from 'node:path';
import { ExitCode } from '../../core/errors.ts';
import { runTournament } from '../../tournament/run.ts';
import { printJson, table } from '../output.ts';

export interface TournamentCommandOptions {
  out?: string;
  resume?: boolean;
  anonymise?: boolean;
  keyFile?: string;
  json?: boolean;
}

/** `edgechaos tournament <file>`: run it (or continue it), then print and publish the leaderboard. */
export async function tournamentCommand(
  file: string,
  opts: TournamentCommandOptions,
  signal: AbortSignal,
): Promise<number> {
  const r = await runTournament({
    file,
    signal,
    ...(opts.out ? { outDir: opts.out } : {}),
    ...(opts.resume ? { resume: true } : {}),
    ...(opts.anonymise ? { anonymise: true } : {}),
    ...(opts.keyFile ? { keyFile: opts.keyFile } : {}),
    progress: (line) => process.stderr.write(`tournament: ${line}\n`),
  });
  if (opts.json) printJson(r);
  if (r.interrupted || !r.leaderboard) {
    if (!opts.json)
      console.log(
        `INTERRUPTED after ${r.state.completed.length}/${r.state.plan.length} runs; continue with: edgechaos tournament ${file} --resume${opts.out ? ` --out ${opts.out}` : ''}`,
      );
    return ExitCode.Interrupted;
  }
  if (!opts.json) {
    const lb = r.leaderboard;
    console.log(
      table(
        lb.entries.map((e) => [
          e.tiedWithAbove ? `=${e.rank}` : String(e.rank),
          e.submission,
          e.gatesPassed ? 'pass' : 'FAIL',
          e.score.median.toFixed(1),
          `[${e.score.lo.toFixed(1)}, ${e.score.hi.toFixed(1)}]`,
          `${e.score.min.toFixed(1)}–${e.score.max.toFixed(1)}`,
          e.failures.map((f) => f.what).join(', '),
        ]),
        ['rank', 'submission', 'gates', 'median %', '95% CI', 'min–max', 'failed'],
      ),
    );
    console.log(`\nleaderboard: ${relative(process.cwd(), r.files!.html) || r.files!.html}`);
  }
  return ExitCode.Pass;
}
