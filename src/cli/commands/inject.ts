import { applyFault, type AppliedFault } from '../../../faults/index.ts';
import { CleanupRegistry, newRunId } from '../../core/cleanup/registry.ts';
import { sleep } from '../../core/deadline.ts';
import { parseDuration } from '../../core/duration.ts';
import { ExitCode, UsageError } from '../../core/errors.ts';
import { findDeployment } from '../../targets/registry.ts';
import { printJson } from '../output.ts';

export interface InjectOptions {
  node?: string;
  for?: string;
  param?: string[];
  run?: string;
  seed?: string;
  json?: boolean;
}

/** `k=v` pairs into a params record (values stay strings; each fault validates its own). */
export function parseParams(pairs: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--param ${p}: expected key=value`);
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return out;
}

/**
 * Apply one fault to a running deployment (whichever target holds it); revert when the time is up or on
 * Ctrl-C (journaled meanwhile).
 */
export async function injectCommand(kind: string, opts: InjectOptions, signal: AbortSignal): Promise<number> {
  if (!opts.node) throw new UsageError('--node is required (e.g. --node edge-1)');
  const durationMs = parseDuration(opts.for ?? '30s', '--for');
  const seed = opts.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(opts.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number, got "${opts.seed}"`);
  const { target, runId } = await findDeployment(opts.run);
  const fault = { kind, node: opts.node, params: parseParams(opts.param), durationMs, seed };
  const registry = CleanupRegistry.open(newRunId('inj'));
  let applied: AppliedFault | undefined;
  let interrupted = false;
  try {
    const dep = await target.detached!.attach(runId, registry);
    try {
      applied = await applyFault(dep.surface, fault, registry, { signal });
      if (opts.json)
        printJson({
          deployment: runId,
          target: target.name,
          fault: applied.plan.fault,
          summary: applied.plan.summary,
          applyMs: applied.applyMs,
        });
      else
        console.log(
          `applied in ${applied.applyMs.toFixed(1)} ms: ${applied.plan.summary}; reverting in ${durationMs / 1000}s (Ctrl-C reverts now)`,
        );
      await sleep(durationMs, signal).catch(() => {
        interrupted = true;
      });
    } finally {
      try {
        await applied?.revert();
      } finally {
        await dep.detach();
      }
    }
  } finally {
    await registry.close();
  }
  if (!opts.json) console.log(`reverted: ${applied.plan.summary}${interrupted ? ' (interrupted)' : ''}`);
  return ExitCode.Pass;
}
