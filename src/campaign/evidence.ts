import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { checkDownlink } from '../checks/downlink.ts';
import { checkSyncEfficiency } from '../checks/efficiency.ts';
import { checkImageSize } from '../checks/image.ts';
import { checkOffline, type Window } from '../checks/offline.ts';
import { checkResources } from '../checks/resources.ts';
import { checkStartup } from '../checks/startup.ts';
import { nativeLoadLatency } from '../checks/load-latency.ts';
import { checkResumedSync } from '../checks/sync.ts';
import { notMeasured, type CheckResult } from '../checks/types.ts';
import type { LedgerRow } from '../contract/client.ts';
import { ScenarioError } from '../core/errors.ts';
import { capacityCheck } from './capacity.ts';
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
  // edges under an emulator: their timing is shown as "emulated, not scored"
  const emulated = e.emulated ?? {};
  out.push(
    checkResumedSync({
      writes: e.writes,
      ledger: e.ledger,
      convergeMs: e.convergeMs,
      convergenceTimeoutMs: e.convergenceTimeoutMs,
      minAcknowledgedWrites: e.limits.minAcknowledgedWrites,
      emulated,
      nativeConvergeMs: e.nativeConvergeMs,
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
      emulated,
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
  out.push(checkDownlink(e.publications, e.convergenceTimeoutMs, e.publicationsPlanned, emulated));
  if (Object.keys(e.usage).length === 0)
    out.push(
      notMeasured(
        'resources',
        'Resource use of the edge agents (cgroup peak memory, CPU)',
        'every edge had a stressor injected into its cgroup',
      ),
    );
  else {
    const acked = (emu: boolean): number =>
      e.writes.filter(
        (w) => w.outcome === 'ok' && w.node in e.usage && Object.hasOwn(emulated, w.node) === emu,
      ).length;
    const c = checkResources(
      e.usage,
      acked(false),
      {
        maxPeakRssBytes: e.limits.resources.maxPeakRssBytes,
        minAcknowledgedWrites: e.limits.minAcknowledgedWrites,
      },
      { nodes: emulated, ackedWrites: acked(true) },
    );
    if (e.stressed.length)
      c.evidence['excluded'] = e.stressed.map((n) => `${n}: a stressor ran in its cgroup`);
    out.push(c);
  }
  out.push(checkStartup(e.coldStartsMs, e.limits.startup.maxMs, e.coldStartError, e.coldStartPath));
  out.push(checkImageSize(e.images, e.limits.image.maxBytes));
  out.push(conformanceCheck(e.conformance));
  // a load-thresholds check only where the script sets thresholds (there is nothing to judge otherwise)
  if (e.load && e.load.thresholds.length > 0)
    out.push(nativeLoadLatency(thresholdsCheck(e.load), e.http, emulated));
  if (e.capacity) out.push(capacityCheck(e.capacity, emulated));
  return [...out.map(timed), ...e.targetChecks];
}

/** The load script's thresholds (k6's semantics) and the load metrics a rubric may use. */
export function thresholdsCheck(l: CampaignEvidence['load']): CheckResult {
  const title = "Load: the script's thresholds, as k6 evaluates them";
  if (!l) return notMeasured('load-thresholds', title, 'the load runner left no result');
  const metric = (name: string, key: string, unit: string): CheckResult['metrics'] => {
    const v = l.metrics[name]?.[key];
    return v === undefined || !Number.isFinite(v)
      ? {}
      : {
          [`load.${name}.${key === 'p(95)' ? 'p95' : key === 'p(99)' ? 'p99' : key}`]: {
            value: v,
            unit,
            source: 'check:load-thresholds',
          },
        };
  };
  const failed = l.thresholds.filter((t) => !t.ok);
  const metrics: CheckResult['metrics'] = {
    ...metric('http_req_duration', 'p(95)', 'ms'),
    ...metric('http_req_duration', 'p(99)', 'ms'),
    ...metric('http_req_failed', 'rate', 'ratio'),
    ...metric('http_reqs', 'rate', 'req/s'),
    ...metric('checks', 'rate', 'ratio'),
    ...metric('dropped_iterations', 'count', 'iterations'),
    'load.thresholds.failed': { value: failed.length, unit: 'thresholds', source: 'check:load-thresholds' },
  };
  const show = (t: (typeof l.thresholds)[number]): string =>
    `${t.metric} ${t.expression} (${t.value === undefined ? 'no data' : Number(t.value.toFixed(3))})`;
  return {
    id: 'load-thresholds',
    title,
    status: l.thresholds.length === 0 ? 'not-measured' : failed.length ? 'failed' : 'passed',
    summary:
      l.thresholds.length === 0
        ? 'the load script sets no thresholds'
        : failed.length
          ? `${failed.length} of ${l.thresholds.length} threshold(s) failed: ${failed.map(show).join('; ')}${l.aborted ? `; run aborted: ${l.aborted}` : ''}`
          : `all ${l.thresholds.length} threshold(s) held: ${l.thresholds.map(show).join('; ')}`,
    metrics,
    evidence: { thresholds: l.thresholds, ...(l.aborted ? { aborted: l.aborted } : {}) },
  };
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
