import type { LedgerRow } from '../contract/client.ts';
import type { WriteSample } from '../load/summary.ts';
import type { CheckResult } from './types.ts';

export interface SyncEvidence {
  writes: readonly WriteSample[];
  /** Every ledger row of the run's nodes after convergence (or the deadline). */
  ledger: readonly LedgerRow[];
  /** ms from heal to the moment the ledger held every acknowledged write; undefined if it never did. */
  convergeMs: number | undefined;
  convergenceTimeoutMs: number;
}

/**
 * Jepsen "set"-style check of resumed sync: every write the client saw acknowledged must be in the
 * cloud ledger exactly once. Writes without an answer are indeterminate: they may or may not be
 * there, but never twice.
 */
export function checkResumedSync(e: SyncEvidence): CheckResult {
  const count = new Map<string, number>();
  for (const r of e.ledger) count.set(r.id, (count.get(r.id) ?? 0) + 1);
  const acked = e.writes.filter((w) => w.outcome === 'ok');
  const lost = acked
    .filter((w) => !count.has(w.id))
    .map((w) => ({ id: w.id, node: w.node, ackedAt: w.tDone }));
  const written = new Set(e.writes.map((w) => w.id));
  const duplicated = [...count].filter(([, n]) => n > 1).map(([id, n]) => ({ id, copies: n }));
  const indeterminate = e.writes.filter((w) => w.outcome === 'indeterminate');
  const indeterminateFound = indeterminate.filter((w) => count.has(w.id)).length;
  const failedButPresent = e.writes.filter((w) => w.outcome === 'failed' && count.has(w.id)).map((w) => w.id);
  const phantom = [...count.keys()].filter((id) => !written.has(id));
  const ok = lost.length === 0 && duplicated.length === 0 && phantom.length === 0;
  const metrics = {
    'sync.lost': { value: lost.length, unit: 'writes', source: 'check:resumed-sync' },
    'sync.duplicated': { value: duplicated.length, unit: 'writes', source: 'check:resumed-sync' },
    'sync.indeterminate': { value: indeterminate.length, unit: 'writes', source: 'check:resumed-sync' },
    'sync.acknowledged': { value: acked.length, unit: 'writes', source: 'check:resumed-sync' },
    ...(e.convergeMs !== undefined
      ? { 'sync.converge-ms': { value: e.convergeMs, unit: 'ms', source: 'check:resumed-sync' } }
      : {}),
  };
  const parts = [
    `${acked.length} acknowledged writes: ${lost.length} lost, ${duplicated.length} duplicated`,
    `${indeterminate.length} indeterminate (${indeterminateFound} of them in the ledger)`,
    e.convergeMs !== undefined
      ? `converged ${e.convergeMs} ms after heal`
      : `not converged within ${e.convergenceTimeoutMs} ms`,
  ];
  if (phantom.length) parts.push(`${phantom.length} ledger rows no client ever wrote`);
  return {
    id: 'resumed-sync',
    title: 'Resumed sync: every acknowledged write reaches the cloud exactly once',
    status: ok && e.convergeMs !== undefined ? 'passed' : 'failed',
    summary: parts.join('; '),
    metrics,
    evidence: {
      lost: lost.slice(0, 1000),
      duplicated: duplicated.slice(0, 1000),
      phantom: phantom.slice(0, 1000),
      failedButPresent: failedButPresent.slice(0, 1000),
      indeterminateFound,
      ledgerRows: e.ledger.length,
    },
  };
}
