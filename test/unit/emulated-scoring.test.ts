import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { judge, type LoadedEvidence } from '../../src/campaign/evidence.ts';
import type { CheckResult } from '../../src/checks/types.ts';
import type { LedgerRow } from '../../src/contract/client.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { percentile, type HttpSample, type WriteSample } from '../../src/load/summary.ts';
import { parseRunRecord } from '../../src/record/load.ts';
import {
  buildChartData,
  chartAssets,
  readRunDir,
  renderHtmlReport,
  renderJUnit,
} from '../../src/report/index.ts';
import { loadRubric, parseRubric } from '../../src/scoring/rubric.ts';
import { score, scoringInput } from '../../src/scoring/score.ts';
import { httpSample } from '../helpers/samples.ts';

/**
 * A run with a native edge (edge-1) and an arm64 edge under qemu-user (edge-2): every timing metric
 * of edge-2 is "emulated, not scored". `slow` scales edge-2's timing; `drop` leaves its timing
 * evidence out (what the run scores as, if emulated timing never counts); `emulated: false` judges
 * edge-2 as if it were native (the defect: its emulator-bound timing scored).
 */
function evidence(
  o: { slow?: number; drop?: boolean; emulated?: boolean; onlyEdge2Cut?: boolean } = {},
): LoadedEvidence {
  const slow = o.slow ?? 10;
  const nodes = o.drop ? ['edge-1'] : ['edge-1', 'edge-2'];
  const ms = (node: string, base: number): number => (node === 'edge-2' ? base * slow : base);
  const writes: WriteSample[] = ['edge-1', 'edge-2'].flatMap((node) =>
    Array.from({ length: 30 }, (_, i) => ({
      type: 'write' as const,
      t: 100 * i,
      tDone: 100 * i + 5,
      id: `run-${node}-${i}`,
      node,
      payloadBytes: 100,
      outcome: 'ok' as const,
      status: 201,
    })),
  );
  const ledger: LedgerRow[] = writes.map((w, i) => ({ node: w.node, id: w.id, ts: i, payload: {}, row: i }));
  const cut = o.onlyEdge2Cut ? ['edge-2'] : ['edge-1', 'edge-2'];
  const http: HttpSample[] = nodes.flatMap((node) =>
    Array.from({ length: 40 }, (_, i) => httpSample(1000 + 100 * i, ms(node, 8 + (i % 10)), true, node)),
  );
  const edge1 = http.filter((s) => s.node === 'edge-1').map((s) => s.duration);
  const all = (o.drop ? edge1 : http.map((s) => s.duration)).sort((a, b) => a - b);
  return {
    version: 1,
    ledgerFile: 'ledger.json',
    convergeMs: o.drop ? 600 : ms('edge-2', 600),
    ...(o.emulated === false || o.drop ? {} : { emulated: { 'edge-2': 'arm64' }, nativeConvergeMs: 600 }),
    convergenceTimeoutMs: 60_000,
    faults: [],
    partitions: cut.map((node) => ({ node, start: 1000, end: 5000 })),
    restarts: { 'edge-1': 0, 'edge-2': 0 },
    uplinkBytes: { 'edge-1': 9000, 'edge-2': 9000 },
    usage: Object.fromEntries(
      nodes.map((n) => [
        n,
        { peakRssBytes: ms(n, 20e6) / (n === 'edge-2' ? slow / 2 : 1), cpuSeconds: ms(n, 1) },
      ]),
    ),
    stressed: [],
    publicationsPlanned: 1,
    publications: [
      {
        version: 1,
        at: 2000,
        reached: Object.fromEntries(nodes.map((n) => [n, { ms: ms(n, 50), afterHeal: false }])),
      },
    ],
    coldStartsMs: [30, 31, 32],
    images: {},
    conformance: { disabled: true },
    targetChecks: [],
    limits: {
      offline: { minSuccessRate: 0.99 },
      syncEfficiency: { maxOverheadRatio: 5 },
      resources: { maxPeakRssBytes: 256e6 },
      startup: { maxMs: 1000 },
      image: { maxBytes: 10e6 },
      minAcknowledgedWrites: 20,
    },
    durations: {},
    load: {
      thresholds: [
        { metric: 'http_req_failed', expression: 'rate<0.01', ok: true, value: 0, abortOnFail: false },
      ],
      metrics: { http_req_duration: { 'p(95)': percentile(all, 95), 'p(99)': percentile(all, 99) } },
    },
    writes,
    http,
    ledger,
  };
}

const timing = [
  'offline.p99-ms',
  'sync.converge-ms',
  'downlink.propagation-ms',
  'resources.edge-peak-rss-bytes',
  'resources.edge-cpu-seconds',
  'resources.edge-cpu-ms-per-1k-writes',
  'load.http_req_duration.p95',
  'load.http_req_duration.p99',
];

const scored = async (checks: CheckResult[]) => {
  const rubric = await loadRubric(join(repoRoot, 'scenarios/rubric.ts'));
  const input = scoringInput(checks);
  return score(rubric, input.metrics, input);
};
const metricsOf = (checks: CheckResult[]) => scoringInput(checks).metrics;

describe('emulated nodes: timing "emulated, not scored"', () => {
  it('should score a run with an emulated arm64 edge the same as without that edge’s timing evidence', async () => {
    const withEmu = judge(evidence());
    const without = judge(evidence({ drop: true }));
    const m = metricsOf(withEmu);
    const d = metricsOf(without);
    for (const k of timing) assert.equal(m[k]?.value, d[k]?.value, `${k}: native edges only`);
    const a = await scored(withEmu);
    const b = await scored(without);
    assert.equal(a.total, b.total);
    assert.deepEqual(
      a.criteria.map((c) => [c.id, c.points]),
      b.criteria.map((c) => [c.id, c.points]),
    );
    // however slow the emulator, the score does not move
    const slower = await scored(judge(evidence({ slow: 50 })));
    assert.equal(slower.total, a.total);
    // the defect: edge-2's emulated timing judged as native lowers the score
    const asNative = await scored(judge(evidence({ emulated: false })));
    assert.ok(asNative.total < a.total, `${asNative.total} < ${a.total}`);
  });

  it('should keep the emulated values visible in the checks and beside the scored terms', async () => {
    const checks = judge(evidence());
    for (const id of ['resumed-sync', 'offline', 'downlink', 'resources', 'load-thresholds']) {
      const c = checks.find((x) => x.id === id)!;
      assert.deepEqual(c.emulated?.nodes, { 'edge-2': 'arm64' }, id);
      assert.ok(Object.keys(c.emulated.metrics).length > 0, id);
      assert.match(c.summary, /emulated, not scored: edge-2 \(arm64 under qemu-user\)/, id);
    }
    const sync = checks.find((x) => x.id === 'resumed-sync')!;
    assert.equal(sync.metrics['sync.converge-ms']?.value, 600);
    assert.equal(sync.emulated?.metrics['sync.converge-ms']?.value, 6000);
    const s = await scored(checks);
    const term = s.criteria.flatMap((c) => c.terms).find((t) => t.metric === 'offline.p99-ms')!;
    assert.equal(term.status, 'measured');
    assert.equal(term.measured?.value, 17);
    assert.equal(term.emulated?.measured.value, 170);
    // nothing emulated: no marking at all
    const plain = judge(evidence({ emulated: false }));
    assert.ok(plain.every((c) => c.emulated === undefined));
  });

  it('should leave a criterion measured only on an emulated edge out of the score, visibly', () => {
    const rubric = parseRubric(
      {
        name: 'p99 only',
        version: '1.0',
        criteria: [
          {
            id: 'offline-latency',
            title: 'Offline latency',
            area: 'edge-cloud-collaboration',
            weight: 5,
            terms: [{ metric: 'offline.p99-ms', direction: 'lower-is-better', best: 20, worst: 1000 }],
            gates: [{ metric: 'offline.p99-ms', op: '<=', value: 500, because: 'fast enough offline' }],
          },
          {
            id: 'offline-rate',
            title: 'Offline success',
            area: 'edge-cloud-collaboration',
            weight: 5,
            terms: [{ metric: 'offline.success-rate', direction: 'higher-is-better', best: 1, worst: 0.9 }],
          },
        ],
      },
      'test',
    );
    const checks = judge(evidence({ onlyEdge2Cut: true, drop: false }));
    const input = scoringInput(checks);
    assert.equal(input.metrics['offline.p99-ms'], undefined, 'no native sample inside a cut');
    const s = score(rubric, input.metrics, input);
    const c = s.criteria.find((x) => x.id === 'offline-latency')!;
    assert.equal(c.status, 'emulated');
    assert.equal(c.points, undefined);
    assert.match(
      c.reason ?? '',
      /offline\.p99-ms: emulated, not scored: edge-2 \(arm64 under qemu-user\) measured/,
    );
    assert.equal(c.terms[0]!.status, 'emulated');
    assert.equal(c.gates[0]!.status, 'not-measured');
    assert.equal(s.possible, 5, 'only the success-rate criterion is judged');
    assert.equal(s.percent, 100);

    // run.json keeps the marking; JUnit and HTML show it
    const base = readRunDir(join(repoRoot, 'test/fixtures/runs/passing'));
    const rec = parseRunRecord(
      JSON.parse(JSON.stringify({ ...base, checks, score: s, metrics: input.metrics })),
      'run.json',
    );
    assert.equal(rec.score.criteria[0]!.status, 'emulated');
    assert.deepEqual(rec.checks.find((x) => x.id === 'offline')?.emulated?.nodes, { 'edge-2': 'arm64' });
    const junit = renderJUnit(rec);
    assert.match(
      junit,
      /<testcase [^>]*name="criterion offline-latency: Offline latency"[^>]*>\s*<skipped message="offline\.p99-ms: emulated, not scored: edge-2 \(arm64 under qemu-user\) measured 170 ms"\/>/,
    );
    assert.match(
      junit,
      /offline\.p99-ms = [\d.]+ ms on edge-2 \(arm64 under qemu-user\): emulated, not scored/,
    );
    const html = renderHtmlReport({
      record: rec,
      charts: buildChartData(rec),
      assets: chartAssets(),
      generatedAt: '2026-12-06T00:00:00.000Z',
    });
    const row = html.match(/<tr id="criterion-offline-latency"[\s\S]*?<\/tr>/)?.[0] ?? '';
    assert.match(row, /data-status="emulated"/);
    assert.match(row, /<span class="badge not-measured">emulated, not scored<\/span>/);
    assert.match(row, /data-emulated-metric="offline\.p99-ms"/);
    assert.match(html, /<table class="kv emulated" data-emulated-check="offline">/);
  });
});
