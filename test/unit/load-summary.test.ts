import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { forEachSample, percentile, summarize, summarizeFile } from '../../src/load/summary.ts';
import type { Sample } from '../../src/load/types.ts';
import { httpSample } from '../helpers/samples.ts';
import { tempDir } from '../helpers/temp.ts';

const http: (t: number, duration: number, ok?: boolean, node?: string) => Sample = httpSample;

describe('load summary', () => {
  it('should compute nearest-rank percentiles', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile([], 99), 0);
  });
  it('should group by node and second and count write outcomes, dropped and iteration errors', () => {
    const s: Sample[] = [
      http(10, 5, true, 'edge-1'),
      http(1200, 7, false, 'edge-2'),
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
        outcome: 'failed',
        status: 503,
      },
      { type: 'dropped', t: 1300, scenario: 's' },
      { type: 'error', t: 1300, scenario: 's', message: 'boom' },
    ];
    const sum = summarize(s);
    assert.equal(sum.http.count, 2);
    assert.equal(sum.http.failed, 1);
    assert.deepEqual(Object.keys(sum.byNode).sort(), ['edge-1', 'edge-2']);
    assert.deepEqual(sum.writes, { ok: 1, failed: 1, indeterminate: 0 });
    assert.equal(sum.dropped, 1);
    assert.equal(sum.iterationErrors, 1);
    assert.deepEqual(
      sum.series.map((p) => [p.t, p.requests, p.errors]),
      [
        [0, 1, 0],
        [1, 1, 1],
      ],
    );
  });
  it('should give HDR percentiles within 0.1 % of the exact ones', () => {
    const xs = Array.from({ length: 10_000 }, (_, i) => http(i, 1 + ((i * 7919) % 10_000) / 10));
    const sum = summarize(xs);
    const exact = xs.map((x) => (x as { duration: number }).duration).sort((a, b) => a - b);
    for (const [p, v] of [
      [50, sum.http.p50],
      [99, sum.http.p99],
    ] as const) {
      const e = percentile(exact, p);
      assert.ok(Math.abs(v - e) / e < 0.001, `p${p}: ${v} vs exact ${e}`);
    }
  });
  it('should stream a file across chunk boundaries, multi-byte characters and a torn last line', () => {
    using dir = tempDir('sum');
    const f = join(dir.path, 'samples.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++)
      lines.push(
        JSON.stringify({ type: 'check', t: i, scenario: 's', name: `é✓ check ${i % 3}`, ok: i % 2 === 0 }),
      );
    writeFileSync(f, lines.join('\n') + '\n{"type":"che');
    let n = 0;
    forEachSample(f, () => n++);
    assert.equal(n, 30_000);
    const sum = summarizeFile(f);
    assert.deepEqual(sum.checks['é✓ check 0'], { passes: 5000, fails: 5000 });
  });
});
