import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDownlink } from '../../src/checks/downlink.ts';
import { checkSyncEfficiency } from '../../src/checks/efficiency.ts';
import { checkOffline } from '../../src/checks/offline.ts';
import { checkResources } from '../../src/checks/resources.ts';
import { checkStartup } from '../../src/checks/startup.ts';
import { checkImageSize } from '../../src/checks/image.ts';
import {
  checkRescheduling,
  checkSchedulingBench,
  checkSchedulingLatency,
} from '../../src/checks/scheduling.ts';
import { checkResumedSync } from '../../src/checks/sync.ts';
import { loadRubric } from '../../src/scoring/rubric.ts';
import { score, scoringInput } from '../../src/scoring/score.ts';
import type { LedgerRow } from '../../src/contract/client.ts';
import type { HttpSample, WriteSample } from '../../src/load/summary.ts';
import { httpSample } from '../helpers/samples.ts';

const w = (id: string, outcome: WriteSample['outcome'], node = 'edge-1'): WriteSample => ({
  type: 'write',
  t: 0,
  tDone: 1,
  id,
  node,
  payloadBytes: 10,
  outcome,
  status: outcome === 'ok' ? 201 : 0,
});
const row = (id: string, n: number): LedgerRow => ({ node: 'edge-1', id, ts: 0, payload: null, row: n });
const h = (t: number, node: string, ok: boolean, duration = 5): HttpSample =>
  httpSample(t, duration, ok, node);

/** The sync-efficiency check at an overhead limit of 5 (and its default minimum of synced records unless given). */
const efficiency = (
  uplinkBytes: Record<string, number>,
  syncedRecords: number,
  payloadBytes: number,
  minSyncedRecords?: number,
) =>
  checkSyncEfficiency({
    uplinkBytes,
    syncedRecords,
    payloadBytes,
    maxOverheadRatio: 5,
    ...(minSyncedRecords === undefined ? {} : { minSyncedRecords }),
  });

describe('resumed-sync check', () => {
  const sync = (
    o: Pick<Parameters<typeof checkResumedSync>[0], 'writes' | 'ledger' | 'convergeMs'> & {
      convergenceTimeoutMs?: number;
    },
  ) => checkResumedSync({ convergenceTimeoutMs: 1000, minAcknowledgedWrites: 1, ...o });
  it('should pass when every acknowledged write is in the ledger exactly once', () => {
    const r = sync({
      writes: [w('a', 'ok'), w('b', 'ok'), w('c', 'indeterminate')],
      ledger: [row('a', 1), row('b', 2)],
      convergeMs: 800,
      convergenceTimeoutMs: 60_000,
    });
    assert.equal(r.status, 'passed');
    assert.equal(r.metrics['sync.lost']?.value, 0);
    assert.equal(r.metrics['sync.indeterminate']?.value, 1);
    assert.equal(r.metrics['sync.converge-ms']?.value, 800);
  });
  it('should fail and list the ids of lost acknowledged writes', () => {
    const r = sync({
      writes: [w('a', 'ok'), w('b', 'ok')],
      ledger: [row('a', 1)],
      convergeMs: undefined,
    });
    assert.equal(r.status, 'failed');
    assert.equal(r.metrics['sync.lost']?.value, 1);
    assert.deepEqual(
      (r.evidence['lost'] as { id: string }[]).map((x) => x.id),
      ['b'],
    );
    assert.match(r.summary, /not converged within 1000 ms/);
  });
  it('should fail on a duplicate, even of an indeterminate write', () => {
    const r = sync({
      writes: [w('a', 'ok'), w('b', 'indeterminate')],
      ledger: [row('a', 1), row('b', 2), row('b', 3)],
      convergeMs: 5,
    });
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.evidence['duplicated'], [{ id: 'b', copies: 2 }]);
  });
  it('should fail on a row that no client wrote', () => {
    const r = sync({
      writes: [w('a', 'ok')],
      ledger: [row('a', 1), row('ghost', 2)],
      convergeMs: 5,
    });
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.evidence['phantom'], ['ghost']);
  });
});

describe('offline check', () => {
  const windows = [{ node: 'edge-1', start: 1000, end: 2000 }];
  const offline = (samples: HttpSample[], restarts: Record<string, number> = {}, partitions = windows) =>
    checkOffline({ samples, partitions, restarts, minSuccessRate: 0.99, minRequests: 1 });
  it('should count only requests to the partitioned node inside its window', () => {
    const samples = [
      h(500, 'edge-1', false),
      h(1500, 'edge-1', true, 3),
      h(1600, 'edge-1', true, 9),
      h(1700, 'edge-2', false),
      h(2500, 'edge-1', false),
    ];
    const r = offline(samples);
    assert.equal(r.status, 'passed');
    assert.equal(r.metrics['offline.success-rate']?.value, 1);
    assert.equal(r.metrics['offline.requests']?.value, 2);
    assert.equal(r.metrics['offline.p99-ms']?.value, 9);
  });
  it('should fail when the edge refuses while offline, with the errors as evidence', () => {
    const r = offline([h(1500, 'edge-1', false), h(1600, 'edge-1', true)]);
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.evidence['errors'], { 'HTTP 503': 1 });
  });
  it('should fail on an unplanned restart', () => {
    const r = offline([h(1500, 'edge-1', true)], { 'edge-1': 1 });
    assert.equal(r.status, 'failed');
  });
  it('should say not measured without a partition', () => {
    assert.equal(offline([], {}, []).status, 'not-measured');
  });
});

describe('other checks', () => {
  it('should compute uplink overhead against payload bytes', () => {
    const r = efficiency({ 'edge-1': 3000, 'edge-2': 1000 }, 100, 2000, 1);
    assert.equal(r.metrics['sync.overhead-ratio']?.value, 2);
    assert.equal(r.metrics['sync.bytes-per-record']?.value, 40);
    assert.equal(r.status, 'passed');
    assert.equal(efficiency({ e: 30_000 }, 10, 1000, 1).status, 'failed');
  });
  it('should separate downlink after heal from online propagation and fail on a version that never arrived', () => {
    const ok = checkDownlink(
      [
        {
          version: 1,
          at: 0,
          reached: { 'edge-1': { ms: 100, afterHeal: false }, 'edge-2': { ms: 900, afterHeal: true } },
        },
      ],
      10_000,
    );
    assert.equal(ok.status, 'passed');
    assert.equal(ok.metrics['downlink.propagation-ms']?.value, 100);
    assert.equal(ok.metrics['downlink.after-heal-ms']?.value, 900);
    const bad = checkDownlink(
      [{ version: 2, at: 0, reached: { 'edge-1': { ms: undefined, afterHeal: false } } }],
      10_000,
    );
    assert.equal(bad.status, 'failed');
    assert.deepEqual(bad.evidence['missing'], ['edge-1@v2']);
  });
  it('should take the median of cold starts and fail a slow one', () => {
    assert.equal(checkStartup([30, 10, 20], 100).metrics['startup.edge-agent.median-ms']?.value, 20);
    assert.equal(checkStartup([1500, 1600, 1550], 500).status, 'failed');
  });
  it('should say what the cold starts started when the target says (ssh: runc containers or processes)', () => {
    const c = checkStartup([30, 10, 20], 100, undefined, 'container');
    assert.match(c.summary, /over 3 cold starts as runc containers \(/);
    assert.equal(c.evidence['path'], 'container');
    assert.doesNotMatch(checkStartup([30, 10, 20], 100).summary, /as runc|as processes/);
  });
  it('should report the peak over edges and CPU per 1k writes', () => {
    const r = checkResources(
      { 'edge-1': { peakRssBytes: 20e6, cpuSeconds: 1 }, 'edge-2': { peakRssBytes: 30e6, cpuSeconds: 1 } },
      2000,
      { maxPeakRssBytes: 100e6, minAcknowledgedWrites: 1 },
    );
    assert.equal(r.metrics['resources.edge-peak-rss-bytes']?.value, 30e6);
    assert.equal(r.metrics['resources.edge-cpu-ms-per-1k-writes']?.value, 1000);
    assert.equal(r.status, 'passed');
  });
});

describe('offline check with injected downtime', () => {
  it('should not hold requests during an injected kill against the edge', () => {
    const samples = [
      h(1100, 'edge-1', true),
      h(1300, 'edge-1', false),
      h(1400, 'edge-1', false),
      h(1600, 'edge-1', true),
    ];
    const r = checkOffline({
      samples,
      partitions: [{ node: 'edge-1', start: 1000, end: 2000 }],
      outages: [{ node: 'edge-1', start: 1250, end: 1600 }],
      restarts: {},
      minSuccessRate: 0.99,
      minRequests: 1,
    });
    assert.equal(r.status, 'passed', r.summary);
    assert.equal(r.metrics['offline.requests']?.value, 2);
  });
});

/** n writes to edge-1, all answered 500 by a hostile edge (nothing acknowledged). */
const refused = (n: number): WriteSample[] =>
  Array.from({ length: n }, (_, i) => ({ ...w(`x${i}`, 'failed'), status: 500 }));
const okWrites = (n: number): WriteSample[] => Array.from({ length: n }, (_, i) => w(`w${i}`, 'ok'));

describe('checks never pass vacuously (an edge that answers 500 to every write)', () => {
  it('should fail resumed-sync with 0 acknowledged writes, and zero its metrics', () => {
    const r = checkResumedSync({
      writes: refused(500),
      ledger: [],
      convergeMs: 3,
      convergenceTimeoutMs: 60_000,
    });
    assert.equal(r.status, 'failed');
    assert.match(r.summary, /acknowledged 0 of 500 writes, fewer than the 20/);
    assert.deepEqual(r.metrics, {});
    assert.ok(r.notProvided?.metrics.includes('sync.converge-ms'));
    assert.ok(r.notProvided?.metrics.includes('sync.lost'));
  });
  it('should fail resumed-sync below the scenario minimum and pass at it', () => {
    const base = {
      ledger: okWrites(5).map((x, i) => row(x.id, i)),
      convergeMs: 3,
      convergenceTimeoutMs: 1000,
    };
    assert.equal(
      checkResumedSync({ ...base, writes: okWrites(5), minAcknowledgedWrites: 6 }).status,
      'failed',
    );
    assert.equal(
      checkResumedSync({ ...base, writes: okWrites(5), minAcknowledgedWrites: 5 }).status,
      'passed',
    );
  });
  it('should score convergence zero when sync never converged (not better than converging slowly)', () => {
    const r = checkResumedSync({
      writes: okWrites(30),
      ledger: okWrites(30).map((x, i) => row(x.id, i)),
      convergeMs: undefined,
      convergenceTimeoutMs: 1000,
    });
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.notProvided?.metrics, ['sync.converge-ms']);
  });
  it('should keep the evidence in full (every lost id, not the first 1000)', () => {
    const r = checkResumedSync({
      writes: okWrites(1500),
      ledger: [],
      convergeMs: undefined,
      convergenceTimeoutMs: 1,
    });
    assert.equal((r.evidence['lost'] as unknown[]).length, 1500);
  });
  it('should fail sync efficiency when too few records were synced', () => {
    const r = efficiency({ 'edge-1': 10 }, 0, 0);
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.notProvided?.metrics, [
      'sync.overhead-ratio',
      'sync.bytes-per-record',
      'sync.uplink-bytes',
    ]);
    assert.equal(efficiency({ e: 100 }, 19, 190).status, 'failed');
  });
  it('should fail resource use with 0 acknowledged writes instead of using CPU × 1000', () => {
    const r = checkResources({ 'edge-1': { peakRssBytes: 5e6, cpuSeconds: 0.5 } }, 0, {
      maxPeakRssBytes: 100e6,
    });
    assert.equal(r.status, 'failed');
    assert.equal(r.metrics['resources.edge-cpu-ms-per-1k-writes'], undefined);
    assert.ok(r.notProvided?.metrics.includes('resources.edge-cpu-ms-per-1k-writes'));
    assert.ok(r.notProvided?.metrics.includes('resources.edge-peak-rss-bytes'));
  });
  it('should fail resource use when no edge reported usage (a peak of 0 B is not a result)', () => {
    assert.equal(
      checkResources({}, 1000, { maxPeakRssBytes: 100e6, minAcknowledgedWrites: 1 }).status,
      'failed',
    );
  });
  it('should fail offline operation with too few requests inside the cut', () => {
    const r = checkOffline({
      samples: [h(1500, 'edge-1', true)],
      partitions: [{ node: 'edge-1', start: 1000, end: 2000 }],
      restarts: {},
      minSuccessRate: 0.99,
    });
    assert.equal(r.status, 'failed');
    assert.match(r.summary, /1 client request\(s\) reached a partitioned edge, fewer than the 20/);
    assert.ok(r.notProvided?.metrics.includes('offline.success-rate'));
  });
  it('should not give a p99 of 0 ms to an offline edge that answered nothing', () => {
    const samples = Array.from({ length: 50 }, (_, i) => h(1000 + i * 10, 'edge-1', false));
    const r = checkOffline({
      samples,
      partitions: [{ node: 'edge-1', start: 1000, end: 2000 }],
      restarts: {},
      minSuccessRate: 0.99,
    });
    assert.equal(r.status, 'failed');
    assert.equal(r.metrics['offline.success-rate']?.value, 0);
    assert.equal(r.metrics['offline.p99-ms'], undefined);
    assert.deepEqual(r.notProvided?.metrics, ['offline.p99-ms']);
  });
  it('should count a config version that never arrived as the timeout, and fail when the hub took none', () => {
    const r = checkDownlink(
      [
        {
          version: 1,
          at: 0,
          reached: {
            'edge-1': { ms: undefined, afterHeal: false },
            'edge-2': { ms: undefined, afterHeal: false },
          },
        },
      ],
      10_000,
    );
    assert.equal(r.status, 'failed');
    assert.equal(r.metrics['downlink.propagation-ms']?.value, 10_000);
    const none = checkDownlink([], 10_000, 2);
    assert.equal(none.status, 'failed');
    assert.ok(none.notProvided?.metrics.includes('downlink.propagation-ms'));
    assert.equal(checkDownlink([], 10_000).status, 'not-measured');
  });
  it('should fail start-up when no cold start answered (median of nothing is not 0 ms)', () => {
    const r = checkStartup([], 500);
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.metrics, {});
    assert.deepEqual(r.notProvided?.metrics, ['startup.edge-agent.median-ms']);
  });
  it('should say why the cold starts stopped when the health endpoint never answered', () => {
    const r = checkStartup([], 500, 'cold start 0: http://10.0.0.2:17100/healthz not healthy after 20 s');
    assert.equal(r.status, 'failed');
    assert.match(r.summary, /not healthy after 20 s/);
  });
  it('should fail image size when the manifest names no image', () => {
    const r = checkImageSize({}, 10e6);
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.notProvided?.metrics, ['image.max.bytes']);
  });
  it('should fail the Kubernetes checks when nothing was bound or rescheduled', () => {
    const q = { count: 0, p50: 0, p99: 0, max: 0 };
    const lat = checkSchedulingLatency(
      { pods: 3, createdToScheduled: q, createdToReady: q } as unknown as Parameters<
        typeof checkSchedulingLatency
      >[0],
      5000,
      'default-scheduler',
    );
    assert.equal(lat.status, 'failed');
    assert.deepEqual(lat.notProvided?.metrics, ['scheduling.p99-ms']);
    const re = checkRescheduling(
      {
        ok: true,
        result: { mechanism: 'node-loss', trials: [], rescheduled: q, detected: q } as unknown as Extract<
          Parameters<typeof checkRescheduling>[0],
          { ok: true }
        >['result'],
      },
      60_000,
    );
    assert.equal(re.status, 'failed');
    assert.deepEqual(re.notProvided?.metrics, ['reschedule.p99-ms']);
    const idle = { scheduler: 'edge', p99: 0, throughput: 0, cpuSpread: 0, lowLatencyShare: 0 };
    const bench = checkSchedulingBench({
      nodes: 3,
      pods: 10,
      rounds: 1,
      edge: idle,
      baseline: { ...idle, scheduler: 'default' },
    });
    assert.equal(bench.status, 'failed');
    assert.ok(bench.notProvided?.metrics.includes('scheduling.cpu-spread'));
  });

  it('should give the hostile stack no points in the edge–cloud area (it scored 10/10 sync efficiency, 9.1/10 resources)', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const window = { node: 'edge-1', start: 1000, end: 2000 };
    const http = Array.from({ length: 100 }, (_, i) => h(1000 + i * 10, 'edge-1', false));
    const checks = [
      checkResumedSync({ writes: refused(500), ledger: [], convergeMs: 3, convergenceTimeoutMs: 60_000 }),
      checkOffline({ samples: http, partitions: [window], restarts: {}, minSuccessRate: 0.99 }),
      efficiency({ 'edge-1': 4000 }, 0, 0),
      checkDownlink([{ version: 1, at: 0, reached: { 'edge-1': { ms: 150, afterHeal: false } } }], 10_000),
      checkResources({ 'edge-1': { peakRssBytes: 6e6, cpuSeconds: 0.4 } }, 0, { maxPeakRssBytes: 256e6 }),
    ];
    assert.ok(
      checks.filter((c) => c.id !== 'downlink').every((c) => c.status === 'failed'),
      checks.map((c) => `${c.id} ${c.status}`).join(', '),
    );
    const input = scoringInput(checks);
    const s = score(rubric, input.metrics, input);
    for (const id of ['offline-stability', 'sync-efficiency', 'resource-use']) {
      const c = s.criteria.find((x) => x.id === id)!;
      assert.equal(c.points, 0, `${id}: ${c.points} (${c.reason})`);
    }
  });
});
