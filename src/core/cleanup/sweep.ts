import { rmSync } from 'node:fs';
import { logger } from '../logger.ts';
import { stateDir } from '../paths.ts';
import { isAlive } from '../proc.ts';
import { appendDone, listJournals, readJournal } from './journal.ts';
import { reverterFor } from './reverters.ts';

const log = logger('cleanup');

export interface SweepReport {
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
  const report: SweepReport = { runs: [] };
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
  return report;
}
