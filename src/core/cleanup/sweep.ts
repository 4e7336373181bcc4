import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../logger.ts';
import { stateDir } from '../paths.ts';
import { isAlive } from '../proc.ts';
import { appendDone, listJournals, readJournal } from './journal.ts';
import { reverterFor } from './reverters.ts';

const log = logger('cleanup');

export interface SweepReport {
  /** State files of deployments whose journal is gone (nothing left to attach to): removed. */
  removedStateFiles: string[];
  runs: {
    runId: string;
    journal: string;
    skipped?: string;
    reverted: string[];
    failed: { what: string; error: string }[];
  }[];
}

/**
 * Revert everything that earlier runs recorded and left applied (e.g. after kill -9 of the harness).
 * Runs whose owning harness is still alive are skipped unless `force`.
 */
export async function sweep(
  opts: { force?: boolean; dir?: string; runId?: string } = {},
): Promise<SweepReport> {
  const report: SweepReport = { runs: [], removedStateFiles: [] };
  for (const path of listJournals(opts.dir ?? stateDir())) {
    const st = readJournal(path);
    if (opts.runId && st.runId !== opts.runId) continue;
    const run: SweepReport['runs'][number] = { runId: st.runId, journal: path, reverted: [], failed: [] };
    report.runs.push(run);
    if (st.owner && st.owner.pid !== process.pid && isAlive(st.owner) && !opts.force) {
      run.skipped = `its harness (pid ${st.owner.pid}) is still running; use --force to revert anyway`;
      continue;
    }
    for (const entry of [...st.pending].reverse()) {
      try {
        await reverterFor(entry.kind)(entry.data);
        appendDone(path, entry.id);
        run.reverted.push(entry.what);
        log.info(`reverted ${entry.what} (run ${st.runId})`);
      } catch (error) {
        run.failed.push({ what: entry.what, error: error instanceof Error ? error.message : String(error) });
      }
    }
    if (run.failed.length === 0) rmSync(path, { force: true });
  }
  report.removedStateFiles = removeOrphanStateFiles(opts.dir ?? stateDir());
  return report;
}

/**
 * Deployment state files (`<state dir>/<kind>/<runId>.json`, written by `deploy` for `inject` and
 * `destroy`) name their journal; one whose journal is gone describes a deployment that no longer
 * exists (reverted by `cleanup`, or destroyed by other means): remove it, so `inject` does not attach
 * to nothing. (A deployment's journal exists before its state file is written, and outlives it.)
 */
export function removeOrphanStateFiles(dir: string): string[] {
  const removed: string[] = [];
  const subdirs = existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory())
    : [];
  for (const sub of subdirs) {
    for (const f of readdirSync(join(dir, sub.name)).filter((x) => x.endsWith('.json'))) {
      const file = join(dir, sub.name, f);
      let journal: unknown;
      try {
        journal = (JSON.parse(readFileSync(file, 'utf8')) as { journal?: unknown }).journal;
      } catch {
        continue; // not a state file of ours, or being written
      }
      if (typeof journal !== 'string' || existsSync(journal)) continue;
      rmSync(file, { force: true });
      removed.push(file);
      log.info(`removed ${file}: its deployment's journal ${journal} is gone`);
    }
  }
  return removed;
}
