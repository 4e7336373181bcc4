import { ExitCode, UsageError } from '../../core/errors.ts';
import { conform, type ConformResult } from '../../conform/suite.ts';
import { conformStack } from '../../conform/loopback.ts';
import { loadStack, referenceStackFile } from '../../stack/manifest.ts';
import { printJson, table } from '../output.ts';

export async function conformCommand(
  opts: { edge?: string; hub?: string; stack?: string; json?: boolean; only?: string[] },
  signal: AbortSignal,
): Promise<number> {
  const onCase = opts.json
    ? undefined
    : (r: ConformResult['cases'][number]): void =>
        console.error(`conform: ${r.status.padEnd(7)} ${r.id}${r.reason ? ` — ${r.reason}` : ''}`);
  let result: ConformResult;
  if (opts.edge || opts.hub) {
    if (!opts.edge || !opts.hub) throw new UsageError('--edge and --hub go together');
    for (const [k, v] of [
      ['--edge', opts.edge],
      ['--hub', opts.hub],
    ] as const) {
      if (!/^https?:\/\/[^/]+$/.test(v.replace(/\/$/, '')))
        throw new UsageError(`${k} must be a base URL like http://127.0.0.1:7001, got ${v}`);
    }
    result = await conform(
      { edge: opts.edge.replace(/\/$/, ''), hub: opts.hub.replace(/\/$/, '') },
      { ...(opts.only ? { only: opts.only } : {}), ...(onCase ? { onCase } : {}) },
    );
  } else {
    const stack = await loadStack(opts.stack ?? referenceStackFile);
    result = await conformStack(stack, {
      signal,
      ...(opts.only ? { only: opts.only } : {}),
      ...(onCase ? { onCase } : {}),
    });
  }
  if (opts.json) printJson(result);
  else {
    console.log(
      table(
        result.cases.map((c) => [
          c.status === 'passed' ? 'PASS' : c.status === 'failed' ? 'FAIL' : 'not run',
          c.id,
          c.reason ?? '',
        ]),
        ['result', 'behaviour', 'evidence'],
      ),
    );
    console.log(
      `\nfunctional completeness: ${result.passed}/${result.cases.length} = ${(result.passRatio * 100).toFixed(0)}%${result.notRun ? ` (${result.notRun} not run)` : ''}`,
    );
  }
  return result.failed > 0 ? ExitCode.GateFailed : ExitCode.Pass;
}
