import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDownlink, type Publication } from '../checks/downlink.ts';
import { checkSyncEfficiency } from '../checks/efficiency.ts';
import { checkImageSize } from '../checks/image.ts';
import { checkOffline, type Window } from '../checks/offline.ts';
import { checkResources, type NodeUsage } from '../checks/resources.ts';
import { checkStartup } from '../checks/startup.ts';
import { checkResumedSync } from '../checks/sync.ts';
import { notMeasured, type CheckResult } from '../checks/types.ts';
import type { ConformResult } from '../conform/suite.ts';
import type { LedgerRow } from '../contract/client.ts';
import { UsageError } from '../core/errors.ts';
import { readSamples, type HttpSample, type WriteSample } from '../load/summary.ts';
import type { Metrics } from '../scoring/types.ts';
import type { FaultRecord } from './record.ts';

/** The limits the checks judge against (the scenario's `checks`). */
export interface CheckLimits {
  offline: { minSuccessRate: number };
  syncEfficiency: { maxOverheadRatio: number };
  resources: { maxPeakRssBytes: number };
  startup: { maxMs: number };
  image: { maxBytes: number };
}

/**
 * Everything the checks judge, as gathered from a run: kept in run.json (the large parts — load
 * samples, ledger rows — as files of the run dir) so `edgechaos score` can judge a run again with
 * newer checks. Times are ms since the start of the load phase.
 */
export interface CampaignEvidence {
  version: 1;
  /** The load runner's samples file (relative to the run dir) and the shift onto run time. */
  samples: { file: string; shiftMs: number } | undefined;
  /** The run's ledger rows after convergence (relative to the run dir). */
  ledgerFile: string;
  convergeMs: number | undefined;
  convergenceTimeoutMs: number;
  faults: FaultRecord[];
  /** When each edge's cloud link was cut. */
  partitions: Window[];
  /** Exits of each edge's stack that no fault caused. */
  restarts: Record<string, number>;
  uplinkBytes: Record<string, number>;
  /** cgroup usage of the edges that had no stressor injected. */
  usage: Record<string, NodeUsage>;
  /** Edges left out of `usage`: a stressor ran in their cgroup. */
  stressed: string[];
  publications: Publication[];
  coldStartsMs: number[];
  images: Record<string, string>;
  conformance: ConformResult | { disabled: true };
  /** Verdicts only the target can make (Kubernetes: scheduling, rescheduling), judged where measured. */
  targetChecks: CheckResult[];
  limits: CheckLimits;
  /** How long gathering each check's evidence took, ms (by check id). */
  durations: Record<string, number>;
}

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

/** Read a run's evidence files back (for `judge`). */
export function loadEvidence(runDir: string, e: CampaignEvidence): LoadedEvidence {
  const samples = e.samples
    ? readSamples(join(runDir, e.samples.file)).map((x) => ({ ...x, t: x.t + e.samples!.shiftMs }))
    : [];
  return {
    ...e,
    writes: samples.filter((s): s is WriteSample => s.type === 'write'),
    http: samples.filter((s): s is HttpSample => s.type === 'http'),
    ledger: JSON.parse(readFileSync(join(runDir, e.ledgerFile), 'utf8')) as LedgerRow[],
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
    }),
  );
  out.push(checkDownlink(e.publications, e.convergenceTimeoutMs));
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
    const c = checkResources(e.usage, acked, { maxPeakRssBytes: e.limits.resources.maxPeakRssBytes });
    if (e.stressed.length)
      c.evidence['excluded'] = e.stressed.map((n) => `${n}: a stressor ran in its cgroup`);
    out.push(c);
  }
  out.push(checkStartup(e.coldStartsMs, e.limits.startup.maxMs));
  out.push(checkImageSize(e.images, e.limits.image.maxBytes));
  out.push(conformanceCheck(e.conformance));
  return [...out.map(timed), ...e.targetChecks];
}

function conformanceCheck(r: ConformResult | { disabled: true }): CheckResult {
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

/** The checks' metrics as one set; a metric two checks both produce is an error, never a silent overwrite. */
export function collectMetrics(checks: readonly CheckResult[]): Metrics {
  const out: Metrics = {};
  const by = new Map<string, string>();
  for (const c of checks)
    for (const [name, m] of Object.entries(c.metrics)) {
      const first = by.get(name);
      if (first !== undefined)
        throw new UsageError(`metric ${name} is produced by two checks: ${first} and ${c.id}`, {
          field: `checks.${c.id}.metrics.${name}`,
        });
      by.set(name, c.id);
      out[name] = m;
    }
  return out;
}
