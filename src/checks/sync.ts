import type { LedgerRow } from '../contract/client.ts';
import type { WriteSample } from '../load/summary.ts';
import type { CheckResult } from './types.ts';
import {
  byEmulation,
  DEFAULT_MIN_ACKNOWLEDGED_WRITES,
  notProvided,
  withEmulated,
  type EmulatedNodes,
} from './types.ts';

export interface SyncEvidence {
  writes: readonly WriteSample[];
  /** Every ledger row of the run's nodes after convergence (or the deadline). */
  ledger: readonly LedgerRow[];
  /** ms from heal to the moment the ledger held every acknowledged write; undefined if it never did. */
  convergeMs: number | undefined;
  convergenceTimeoutMs: number;
  /** Fewer acknowledged writes than this and there is nothing to judge: the check fails (default 20). */
  minAcknowledgedWrites?: number;
  /** Edges run under an emulator: the time their writes took to converge is shown, not scored. */
  emulated?: EmulatedNodes;
  /** With emulated edges: ms from heal until the ledger held every acknowledged write of the native edges. */
  nativeConvergeMs?: number | undefined;
}

const TITLE = 'Resumed sync: every acknowledged write reaches the cloud exactly once';

/**
 * Jepsen "set"-style check of resumed sync: every write the client saw acknowledged must be in the
 * cloud ledger exactly once. Writes without an answer are indeterminate: they may or may not be
 * there, but never twice. A stack that acknowledges (almost) nothing has nothing to lose: it fails
 * for want of evidence instead of passing vacuously.
 */
export function checkResumedSync(e: SyncEvidence): CheckResult {
  const min = e.minAcknowledgedWrites ?? DEFAULT_MIN_ACKNOWLEDGED_WRITES;
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
  // Kept in full: `edgechaos score` and a later check can re-judge the run from run.json alone.
  const evidence = {
    lost,
    duplicated,
    phantom,
    failedButPresent,
    indeterminateFound,
    ledgerRows: e.ledger.length,
    writes: {
      total: e.writes.length,
      acknowledged: acked.length,
      failed: e.writes.filter((w) => w.outcome === 'failed').length,
      indeterminate: indeterminate.length,
    },
    minAcknowledgedWrites: min,
  };
  if (acked.length < min)
    return notProvided(
      'resumed-sync',
      TITLE,
      `the stack acknowledged ${acked.length} of ${e.writes.length} writes, fewer than the ${min} needed to judge sync`,
      { evidence },
    );
  const ok = lost.length === 0 && duplicated.length === 0 && phantom.length === 0;
  // Writes acknowledged by emulated edges: their convergence time is the emulator's, not scored.
  const emulated = e.emulated ?? {};
  const split = byEmulation(acked, (w) => w.node, emulated);
  const scored =
    split.emulated.length === 0 ? e.convergeMs : split.native.length ? e.nativeConvergeMs : undefined;
  const neverConverged =
    split.emulated.length === 0 || split.native.length > 0 ? scored === undefined : false;
  const metrics = {
    'sync.lost': { value: lost.length, unit: 'writes', source: 'check:resumed-sync' },
    'sync.duplicated': { value: duplicated.length, unit: 'writes', source: 'check:resumed-sync' },
    'sync.indeterminate': { value: indeterminate.length, unit: 'writes', source: 'check:resumed-sync' },
    'sync.acknowledged': { value: acked.length, unit: 'writes', source: 'check:resumed-sync' },
    ...(scored !== undefined
      ? { 'sync.converge-ms': { value: scored, unit: 'ms', source: 'check:resumed-sync' } }
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
  if (split.emulated.length && scored !== undefined)
    parts.push(`native edges converged ${scored} ms after heal`);
  const result: CheckResult = {
    id: 'resumed-sync',
    title: TITLE,
    status: ok && e.convergeMs !== undefined ? 'passed' : 'failed',
    summary: parts.join('; '),
    metrics,
    evidence,
    // Never converging must not score better than converging slowly: the term scores zero.
    ...(neverConverged
      ? {
          notProvided: {
            reason: `not converged within ${e.convergenceTimeoutMs} ms`,
            metrics: ['sync.converge-ms'],
          },
        }
      : {}),
  };
  return withEmulated(
    result,
    emulated,
    split.emulated.map((w) => w.node),
    e.convergeMs !== undefined && split.emulated.length
      ? { 'sync.converge-ms': { value: e.convergeMs, unit: 'ms', source: 'check:resumed-sync' } }
      : {},
  );
}
