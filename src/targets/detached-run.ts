import { dirname, join } from 'node:path';
import { Journal } from '../core/cleanup/journal.ts';
import { CleanupRegistry, newRunId } from '../core/cleanup/registry.ts';
import { reportsDir } from '../core/paths.ts';
import type { ProcessIdentity } from '../core/proc.ts';

/** What a detached deploy runs under: a fresh run id, its report folder and its cleanup registry. */
export interface DetachedRun {
  runId: string;
  runDir: string;
  registry: CleanupRegistry;
}

/**
 * Run `deploy` under a fresh run (see DetachedRun), timed. When it fails, the registry is closed,
 * reverting whatever is still registered, and the error goes on.
 */
export async function deployUnderNewRun<D>(
  deploy: (run: DetachedRun) => Promise<D>,
): Promise<DetachedRun & { dep: D; ms: number }> {
  const runId = newRunId('dep');
  const run = { runId, runDir: join(reportsDir(), runId), registry: CleanupRegistry.open(runId) };
  const t0 = performance.now();
  let dep: D;
  try {
    dep = await deploy(run);
  } catch (err) {
    await run.registry.close();
    throw err;
  }
  return { ...run, dep, ms: Math.round(performance.now() - t0) };
}

/**
 * Hand the run's journal to the keeper of its state file. The registry is deliberately left open (not
 * closed = not reverted): the journal keeps every resource for `edgechaos destroy`.
 */
export function handJournalTo({ registry, runId }: DetachedRun, keeper: ProcessIdentity): void {
  Journal.create(dirname(registry.journalPath), runId, keeper).close(false);
}
