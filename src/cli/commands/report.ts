import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ExitCode, UsageError } from '../../core/errors.ts';
import {
  chartAssets,
  renderComparisonHtml,
  compareRuns,
  readRunDir,
  renderComparisonText,
  runLabel,
  writeReports,
  type WrittenReports,
} from '../../report/index.ts';
import { printJson } from '../output.ts';

export interface ReportCommandOptions {
  allure?: boolean;
  pdf?: boolean;
  json?: boolean;
  out?: string;
}

/** `edgechaos report <run-dir...>` regenerates every report from run.json; `report compare a b ...` compares runs. */
export async function reportCommand(
  args: string[],
  opts: ReportCommandOptions,
  signal?: AbortSignal,
): Promise<number> {
  if (args[0] === 'compare') return compareCommand(args.slice(1), opts);
  if (opts.out) throw new UsageError('--out is for `edgechaos report compare`');
  const written: (WrittenReports & { runDir: string })[] = [];
  // Validate every run first, so a typo in the last one does not leave half the work done.
  const runs = args.map((dir) => ({ dir: resolve(dir), record: readRunDir(dir) }));
  for (const { dir, record } of runs) {
    const w = await writeReports(dir, record, {
      allureHtml: opts.allure === true,
      pdf: opts.pdf !== false,
      ...(signal ? { signal } : {}),
    });
    written.push({ runDir: dir, ...w });
    if (!opts.json) {
      console.log(`${dir}:`);
      for (const [k, v] of Object.entries(w))
        if (k !== 'timings' && typeof v === 'string') console.log(`  ${k.padEnd(14)} ${v}`);
      console.log(
        `  ${'took'.padEnd(14)} ${Object.entries(w.timings)
          .map(([k, ms]) => `${k} ${ms} ms`)
          .join(', ')}`,
      );
    }
  }
  if (opts.json) printJson(written);
  return ExitCode.Pass;
}

function compareCommand(dirs: string[], opts: ReportCommandOptions): number {
  if (dirs.length < 2) throw new UsageError('`edgechaos report compare` needs at least two run directories');
  const runs = dirs.map((dir) => ({ label: runLabel(dir), dir: resolve(dir), record: readRunDir(dir) }));
  const cmp = compareRuns(runs);
  const out = resolve(opts.out ?? join(dirname(resolve(dirs[0]!)), 'compare.html'));
  // The leaderboard page, each run a submission of one repetition, with its charts and the deltas table.
  writeFileSync(out, renderComparisonHtml(runs, chartAssets(), { pageDir: dirname(out) }));
  if (opts.json) printJson({ ...cmp, html: out });
  else {
    console.log(renderComparisonText(cmp));
    console.log(`\nHTML: ${out}`);
  }
  return ExitCode.Pass;
}
