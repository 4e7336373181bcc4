import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDownlink } from '../../src/checks/downlink.ts';
import { checkSyncEfficiency } from '../../src/checks/efficiency.ts';
import { checkOffline } from '../../src/checks/offline.ts';
import { checkResources } from '../../src/checks/resources.ts';
import { checkStartup } from '../../src/checks/startup.ts';
import { checkResumedSync } from '../../src/checks/sync.ts';
import type { LedgerRow } from '../../src/contract/client.ts';
import type { HttpSample, WriteSample } from '../../src/load/summary.ts';

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
const h = (t: number, node: string, ok: boolean, duration = 5): HttpSample => ({
  type: 'http',
  t,
  scenario: 's',
  method: 'POST',
  name: 'write',
  node,
  status: ok ? 201 : 503,
  ok,
  duration,
});

describe('resumed-sync check', () => {
  it('should pass when every acknowledged write is in the ledger exactly once', () => {
    const r = checkResumedSync({
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
    const r = checkResumedSync({
      writes: [w('a', 'ok'), w('b', 'ok')],
      ledger: [row('a', 1)],
      convergeMs: undefined,
      convergenceTimeoutMs: 1000,
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
    const r = checkResumedSync({
      writes: [w('a', 'ok'), w('b', 'indeterminate')],
      ledger: [row('a', 1), row('b', 2), row('b', 3)],
      convergeMs: 5,
      convergenceTimeoutMs: 1000,
    });
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.evidence['duplicated'], [{ id: 'b', copies: 2 }]);
  });
  it('should fail on a row that no client wrote', () => {
    const r = checkResumedSync({
      writes: [w('a', 'ok')],
      ledger: [row('a', 1), row('ghost', 2)],
      convergeMs: 5,
      convergenceTimeoutMs: 1000,
    });
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.evidence['phantom'], ['ghost']);
  });
});

describe('offline check', () => {
  const windows = [{ node: 'edge-1', start: 1000, end: 2000 }];
  it('should count only requests to the partitioned node inside its window', () => {
    const samples = [
      h(500, 'edge-1', false),
      h(1500, 'edge-1', true, 3),
      h(1600, 'edge-1', true, 9),
      h(1700, 'edge-2', false),
      h(2500, 'edge-1', false),
    ];
    const r = checkOffline({ samples, partitions: windows, restarts: {}, minSuccessRate: 0.99 });
    assert.equal(r.status, 'passed');
    assert.equal(r.metrics['offline.success-rate']?.value, 1);
    assert.equal(r.metrics['offline.requests']?.value, 2);
    assert.equal(r.metrics['offline.p99-ms']?.value, 9);
  });
  it('should fail when the edge refuses while offline, with the errors as evidence', () => {
    const r = checkOffline({
      samples: [h(1500, 'edge-1', false), h(1600, 'edge-1', true)],
      partitions: windows,
      restarts: {},
      minSuccessRate: 0.99,
    });
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.evidence['errors'], { 'HTTP 503': 1 });
  });
  it('should fail on an unplanned restart', () => {
    const r = checkOffline({
      samples: [h(1500, 'edge-1', true)],
      partitions: windows,
      restarts: { 'edge-1': 1 },
      minSuccessRate: 0.99,
    });
    assert.equal(r.status, 'failed');
  });
  it('should say not measured without a partition', () => {
    assert.equal(
      checkOffline({ samples: [], partitions: [], restarts: {}, minSuccessRate: 0.99 }).status,
      'not-measured',
    );
  });
});

describe('other checks', () => {
  it('should compute uplink overhead against payload bytes', () => {
    const r = checkSyncEfficiency({
      uplinkBytes: { 'edge-1': 3000, 'edge-2': 1000 },
      syncedRecords: 100,
      payloadBytes: 2000,
      maxOverheadRatio: 5,
    });
    assert.equal(r.metrics['sync.overhead-ratio']?.value, 2);
    assert.equal(r.metrics['sync.bytes-per-record']?.value, 40);
    assert.equal(r.status, 'passed');
    assert.equal(
      checkSyncEfficiency({
        uplinkBytes: { e: 30_000 },
        syncedRecords: 10,
        payloadBytes: 1000,
        maxOverheadRatio: 5,
      }).status,
      'failed',
    );
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
  it('should report the peak over edges and CPU per 1k writes', () => {
    const r = checkResources(
      { 'edge-1': { peakRssBytes: 20e6, cpuSeconds: 1 }, 'edge-2': { peakRssBytes: 30e6, cpuSeconds: 1 } },
      2000,
      { maxPeakRssBytes: 100e6 },
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
    });
    assert.equal(r.status, 'passed', r.summary);
    assert.equal(r.metrics['offline.requests']?.value, 2);
  });
});
