import { ExitCode, UsageError } from '../../core/errors.ts';
import { checkSubmission, formatProblem } from '../../tournament/submission.ts';
import { printJson } from '../output.ts';

/** `edgechaos submission check <dir>`: one line per problem; exit 0 fit to enter, 2 not. */
export async function submissionCommand(
  action: string,
  dir: string,
  opts: { conformance?: boolean; json?: boolean },
  signal: AbortSignal,
): Promise<number> {
  if (action !== 'check') throw new UsageError(`unknown submission action "${action}" (known: check)`);
  const report = await checkSubmission(dir, {
    signal,
    conformance: opts.conformance !== false,
    ...(opts.json
      ? {}
      : {
          onCase: (c) =>
            console.error(`conform: ${c.status.padEnd(7)} ${c.id}${c.reason ? ` — ${c.reason}` : ''}`),
        }),
  });
  if (opts.json) printJson(report);
  else if (report.problems.length) for (const p of report.problems) console.error(formatProblem(p));
  else
    console.log(
      `${report.manifest}: fit to enter (${report.images.length} image(s), required behaviours passed)`,
    );
  return report.problems.length ? ExitCode.Usage : ExitCode.Pass;
}
