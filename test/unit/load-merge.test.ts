import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeRunners, type RunnerState } from '../../src/load/merge.ts';
import { Registry } from '../../src/load/metrics.ts';
import { parseThresholds } from '../../src/load/thresholds.ts';

const STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];
const THRESHOLDS = parseThresholds({
  http_reqs: ['count<150'],
  'http_req_duration{name:write}': ['p(99)<500'],
  http_req_failed: ['rate<0.05'],
});

/** A runner that saw these requests: its state through JSON, as load-result.json carries it. */
function runner(lat: readonly number[], failEvery: number, vus: number, durationMs = 10_000) {
  const reg = new Registry();
  reg.bindThresholds(THRESHOLDS);
  const b = reg.builtin;
  lat.forEach((v, i) => {
    const tags = { name: i % 2 ? 'write' : 'read' };
    b.http_reqs.add(1, tags);
    b.http_req_duration.add(v, tags);
    b.http_req_failed.add(i % failEvery === 0 ? 1 : 0, tags);
  });
  b.vus.add(vus, undefined);
  const thresholds = reg.evaluate(THRESHOLDS, durationMs);
  const state = JSON.parse(
    JSON.stringify({ durationMs, trendStats: STATS, thresholds: THRESHOLDS, metrics: reg.toState() }),
  ) as RunnerState;
  return { reg, state, thresholds };
}

// a long tail on one runner only: 100 requests each
const lat = (seed: number, tail: number): number[] =>
  Array.from({ length: 100 }, (_, i) => (i < tail ? 900 + i : 5 + ((i * 37 + seed) % 40)));

describe('load: merging the runners of --load-replicas', () => {
  it('should give the percentiles of one runner fed every request, and add counters, rates and VUs', () => {
    const a = runner(lat(1, 0), 50, 3);
    const b = runner(lat(2, 8), 10, 2);
    const one = new Registry();
    for (const v of [...lat(1, 0), ...lat(2, 8)]) one.builtin.http_req_duration.add(v, undefined);
    const want = one.builtin.http_req_duration.sink.values(10_000, STATS);

    const { metrics } = mergeRunners([a, b]);
    assert.deepEqual(metrics['http_req_duration']?.values, want);
    assert.ok(want['p(99)']! > 900, 'the tail of runner b is in the merged p(99)');
    assert.equal(metrics['http_reqs']?.values['count'], 200);
    assert.equal(metrics['http_reqs']?.values['rate'], 20, '200 requests over the 10 s run');
    // 2 of a's 100 failed, 10 of b's 100
    assert.equal(metrics['http_req_failed']?.values['rate'], 12 / 200);
    assert.equal(metrics['vus']?.values['value'], 5, 'the VUs of both runners');
  });

  it('should judge thresholds once on the merged metrics, not each runner on its share', () => {
    const a = runner(lat(1, 0), 50, 1);
    const b = runner(lat(2, 8), 10, 1);
    // each runner alone: 100 requests < 150, passes; b alone fails its error rate (10 %)
    assert.equal(a.thresholds.find((t) => t.metric === 'http_reqs')?.ok, true);
    assert.equal(b.thresholds.find((t) => t.metric === 'http_reqs')?.ok, true);
    const { thresholds, metrics } = mergeRunners([a, b]);
    const get = (m: string) => thresholds.find((t) => t.metric === m)!;
    assert.equal(get('http_reqs').ok, false, '200 requests in the whole test');
    assert.equal(get('http_reqs').value, 200);
    assert.equal(get('http_req_failed').ok, false, '6 % of all requests failed');
    assert.equal(get('http_req_duration{name:write}').ok, false, "b's slow writes are in the merged p(99)");
    assert.ok(metrics['http_req_duration{name:write}'], 'the submetric is in the summary');
    assert.equal(thresholds.length, THRESHOLDS.length, 'each threshold once');
  });

  it('should keep a threshold that aborted one runner failed and marked', () => {
    const a = runner(lat(1, 0), 1000, 1);
    const b = runner(lat(2, 0), 1000, 1);
    const aborted = b.thresholds.map((t) =>
      t.metric === 'http_req_failed' ? { ...t, ok: false, aborted: true } : t,
    );
    const { thresholds } = mergeRunners([a, { ...b, thresholds: aborted }]);
    const t = thresholds.find((x) => x.metric === 'http_req_failed')!;
    assert.equal(t.ok, false);
    assert.equal(t.aborted, true);
  });

  it('should merge a runner that saw nothing, and nothing at all', () => {
    const a = runner(lat(1, 0), 50, 1);
    const idle = runner([], 1, 0);
    assert.deepEqual(
      mergeRunners([a, idle]).metrics['http_req_duration'],
      mergeRunners([a]).metrics['http_req_duration'],
    );
    assert.deepEqual(mergeRunners([]), { metrics: {}, thresholds: [] });
  });
});
