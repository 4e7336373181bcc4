import type { CheckResult } from './types.ts';
import { DEFAULT_MIN_ACKNOWLEDGED_WRITES, notProvided } from './types.ts';

export interface EfficiencyEvidence {
  /** Bytes that crossed each edge's uplink (both directions) during the run, from the link's own counters. */
  uplinkBytes: Record<string, number>;
  /** Records the ledger received from the client's acknowledged writes, and their raw payload bytes. */
  syncedRecords: number;
  payloadBytes: number;
  /** Above this overhead ratio the check fails (uplink bytes / payload bytes). */
  maxOverheadRatio: number;
  /** Fewer synced records than this and the overhead says nothing: the check fails (default 20). */
  minSyncedRecords?: number;
}

/** Sync efficiency: bytes on the edge↔cloud link per synced record, against the raw payload bytes. */
export function checkSyncEfficiency(e: EfficiencyEvidence): CheckResult {
  const title = 'Sync efficiency: uplink bytes per synced record';
  const total = Object.values(e.uplinkBytes).reduce((a, b) => a + b, 0);
  const min = e.minSyncedRecords ?? DEFAULT_MIN_ACKNOWLEDGED_WRITES;
  if (e.syncedRecords < min || e.payloadBytes <= 0)
    return notProvided(
      'sync-efficiency',
      title,
      `${e.syncedRecords} acknowledged record(s) reached the cloud, fewer than the ${min} needed to judge sync efficiency`,
      {
        evidence: {
          uplinkBytes: e.uplinkBytes,
          syncedRecords: e.syncedRecords,
          payloadBytes: e.payloadBytes,
        },
      },
    );
  const ratio = total / e.payloadBytes;
  const perRecord = total / e.syncedRecords;
  return {
    id: 'sync-efficiency',
    title,
    status: ratio <= e.maxOverheadRatio ? 'passed' : 'failed',
    summary: `${total} uplink bytes for ${e.syncedRecords} records (${e.payloadBytes} payload bytes): ${perRecord.toFixed(1)} B/record, ${ratio.toFixed(2)}× the payload (limit ${e.maxOverheadRatio}×)`,
    metrics: {
      'sync.overhead-ratio': { value: ratio, unit: 'ratio', source: 'check:sync-efficiency' },
      'sync.bytes-per-record': { value: perRecord, unit: 'B', source: 'check:sync-efficiency' },
      'sync.uplink-bytes': { value: total, unit: 'B', source: 'check:sync-efficiency' },
    },
    evidence: { uplinkBytes: e.uplinkBytes, syncedRecords: e.syncedRecords, payloadBytes: e.payloadBytes },
  };
}
