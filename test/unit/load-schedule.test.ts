import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/load/rng.ts';
import { arrivalTimes } from '../../src/load/schedule.ts';
import { percentile, summarize } from '../../src/load/summary.ts';
import type { Sample } from '../../src/load/types.ts';

describe('arrival schedules', () => {
  it('should space constant-arrival-rate iterations evenly', () => {
    const t = arrivalTimes({ executor: 'constant-arrival-rate', rate: 10, duration: '2s', exec: 'x' });
    assert.equal(t.length, 20);
    assert.equal(t[1]! - t[0]!, 100);
  });
  it('should honour timeUnit', () => {
    const t = arrivalTimes({
      executor: 'constant-arrival-rate',
      rate: 30,
      timeUnit: '1m',
      duration: '10s',
      exec: 'x',
    });
    assert.equal(t.length, 5);
  });
  it('should ramp: 0→100/s over 10 s gives 500 iterations, denser at the end', () => {
    const t = arrivalTimes({
      executor: 'ramping-arrival-rate',
      startRate: 0,
      stages: [{ target: 100, duration: '10s' }],
      exec: 'x',
    });
    assert.ok(Math.abs(t.length - 500) <= 1, `got ${t.length}`);
    const firstHalf = t.filter((x) => x < 5000).length;
    assert.ok(firstHalf < 150, `first half had ${firstHalf}`);
    for (let i = 1; i < t.length; i++) assert.ok(t[i]! >= t[i - 1]!);
  });
  it('should give nothing for a closed-model executor', () => {
    assert.deepEqual(arrivalTimes({ executor: 'constant-vus', vus: 3, duration: '1s', exec: 'x' }), []);
  });
});

describe('seeded random', () => {
  it('should repeat the same sequence for the same seed and differ for another', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const sa = [a(), a(), a()];
    assert.deepEqual(sa, [b(), b(), b()]);
    assert.notDeepEqual(sa, [c(), c(), c()]);
  });
});

describe('load summary', () => {
  it('should compute nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile([], 99), 0);
  });
  it('should group by node and second and count write outcomes', () => {
    const s: Sample[] = [
      {
        type: 'http',
        t: 10,
        scenario: 's',
        method: 'POST',
        name: 'write',
        node: 'edge-1',
        status: 201,
        ok: true,
        duration: 5,
      },
      {
        type: 'http',
        t: 1200,
        scenario: 's',
        method: 'POST',
        name: 'write',
        node: 'edge-2',
        status: 503,
        ok: false,
        duration: 7,
      },
      {
        type: 'write',
        t: 10,
        tDone: 15,
        id: 'a',
        node: 'edge-1',
        payloadBytes: 10,
        outcome: 'ok',
        status: 201,
      },
      {
        type: 'write',
        t: 1200,
        tDone: 1207,
        id: 'b',
        node: 'edge-2',
        payloadBytes: 10,
        outcome: 'indeterminate',
        status: 503,
      },
      { type: 'dropped', t: 1300, scenario: 's' },
    ];
    const sum = summarize(s);
    assert.equal(sum.http.count, 2);
    assert.equal(sum.http.failed, 1);
    assert.deepEqual(Object.keys(sum.byNode).sort(), ['edge-1', 'edge-2']);
    assert.deepEqual(sum.writes, { ok: 1, failed: 0, indeterminate: 1 });
    assert.equal(sum.dropped, 1);
    assert.deepEqual(
      sum.series.map((p) => [p.t, p.requests, p.errors]),
      [
        [0, 1, 0],
        [1, 1, 1],
      ],
    );
  });
});
