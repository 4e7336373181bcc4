import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { checkDownlink } from '../checks/downlink.ts';
import { checkSyncEfficiency } from '../checks/efficiency.ts';
import { checkImageSize } from '../checks/image.ts';
import { checkOffline, type Window } from '../checks/offline.ts';
import { checkResources } from '../checks/resources.ts';
import { checkStartup } from '../checks/startup.ts';
import { checkResumedSync } from '../checks/sync.ts';
import { notMeasured, type CheckResult } from '../checks/types.ts';
import type { LedgerRow } from '../contract/client.ts';
import { ScenarioError } from '../core/errors.ts';
import { readSamples, type HttpSample, type WriteSample } from '../load/summary.ts';
import type { CampaignEvidence } from '../record/schema.ts';

export type { CampaignEvidence } from '../record/schema.ts';

/** The evidence with its files read: what `judge` takes. */
export interface LoadedEvidence extends CampaignEvidence {
  writes: WriteSample[];
  http: HttpSample[];
  ledger: LedgerRow[];
}

/** Write the large parts of the evidence into the run dir. */
export function saveLedger(runDir: string, ledger: readonly LedgerRow[]): string {
  const file = 'ledger.json';
  writeFileSync(join(runDir, file), JSON.stringify(ledger));
  return file;
}

/** A file the evidence names, which must lie inside the run dir (run.json is data from anywhere). */
function inside(runDir: string, file: string, field: string): string {
  const root = resolve(runDir);
  const path = resolve(root, file);
  if (!path.startsWith(`${root}${sep}`))
    throw new ScenarioError(`evidence file "${file}" is outside the run directory`, {
      file: join(root, 'run.json'),
      field,
    });
  return path;
}

/** Read a run's evidence files back (for `judge`). */
export function loadEvidence(runDir: string, e: CampaignEvidence): LoadedEvidence {
  const samples = e.samples
    ? readSamples(inside(runDir, e.samples.file, 'evidence.samples.file')).map((x) => ({
        ...x,
        t: x.t + e.samples!.shiftMs,
      }))
    : [];
  return {
    ...e,
    writes: samples.filter((s): s is WriteSample => s.type === 'write'),
    http: samples.filter((s): s is HttpSample => s.type === 'http'),
    ledger: JSON.parse(
      readFileSync(inside(runDir, e.ledgerFile, 'evidence.ledgerFile'), 'utf8'),
    ) as LedgerRow[],
  };
}

/** Fault kinds whose node is down on purpose until it answers a client again. */
const outageKinds = new Set(['kill', 'restart-node', 'pause', 'node-loss', 'power-loss']);

/** Judge a run's evidence: pure, the same evidence always gives the same verdicts. */
export function judge(e: LoadedEvidence): CheckResult[] {
  const timed = (c: CheckResult): CheckResult => ({
    ...c,
    durationMs: c.durationMs ?? e.durations[c.id] ?? 0,
  });
  const out: CheckResult[] = [];
  out.push(
    checkResumedSync({
      writes: e.writes,
      ledger: e.ledger,
      convergeMs: e.convergeMs,
      convergenceTimeoutMs: e.convergenceTimeoutMs,
      minAcknowledgedWrites: e.limits.minAcknowledgedWrites,
    }),
  );
  // Injected downtime: from a kill/restart/pause until the node answers a client again (or the pause
  // ends); an answer before the kill landed (apply done) proves nothing.
  const outages: Window[] = e.faults
    .filter((f) => outageKinds.has(f.kind))
    .map((f) => {
      const from = f.end ?? f.start;
      const back = e.http.find((x) => x.node === f.node && x.ok && x.t >= from);
      return { node: f.node, start: f.start, end: back?.t ?? Number.POSITIVE_INFINITY };
    });
  out.push(
    checkOffline({
      samples: e.http,
      partitions: e.partitions,
      outages,
      restarts: e.restarts,
      minSuccessRate: e.limits.offline.minSuccessRate,
    }),
  );
  const inLedger = new Set(e.ledger.map((r) => r.id));
  const synced = e.writes.filter((w) => w.outcome === 'ok' && inLedger.has(w.id));
  out.push(
    checkSyncEfficiency({
      uplinkBytes: e.uplinkBytes,
      syncedRecords: synced.length,
      payloadBytes: synced.reduce((a, w) => a + w.payloadBytes, 0),
      maxOverheadRatio: e.limits.syncEfficiency.maxOverheadRatio,
      minSyncedRecords: e.limits.minAcknowledgedWrites,
    }),
  );
  out.push(checkDownlink(e.publications, e.convergenceTimeoutMs, e.publicationsPlanned));
  if (Object.keys(e.usage).length === 0)
    out.push(
      notMeasured(
        'resources',
        'Resource use of the edge agents (cgroup peak memory, CPU)',
        'every edge had a stressor injected into its cgroup',
      ),
    );
  else {
    const acked = e.writes.filter((w) => w.outcome === 'ok' && w.node in e.usage).length;
    const c = checkResources(e.usage, acked, {
      maxPeakRssBytes: e.limits.resources.maxPeakRssBytes,
      minAcknowledgedWrites: e.limits.minAcknowledgedWrites,
    });
    if (e.stressed.length)
      c.evidence['excluded'] = e.stressed.map((n) => `${n}: a stressor ran in its cgroup`);
    out.push(c);
  }
  out.push(checkStartup(e.coldStartsMs, e.limits.startup.maxMs, e.coldStartError));
  out.push(checkImageSize(e.images, e.limits.image.maxBytes));
  out.push(conformanceCheck(e.conformance));
  return [...out.map(timed), ...e.targetChecks];
}

function conformanceCheck(r: CampaignEvidence['conformance']): CheckResult {
  const title = 'Functional completeness: stack contract conformance';
  if ('disabled' in r) return notMeasured('conformance', title, 'disabled in the scenario');
  const failed = r.cases.filter((c) => c.status === 'failed').map((c) => c.id);
  return {
    id: 'conformance',
    title,
    status: r.failed === 0 && r.notRun === 0 ? 'passed' : 'failed',
    summary: `${r.passed}/${r.cases.length} behaviours passed${failed.length ? `; failed: ${failed.join(', ')}` : ''}`,
    metrics: {
      'conformance.pass-ratio': { value: r.passRatio, unit: 'ratio', source: 'check:conformance' },
    },
    evidence: { cases: r.cases },
  };
}
