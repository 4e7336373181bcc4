import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScenarioError } from '../../src/core/errors.ts';
import { loadRubric } from '../../src/scoring/rubric.ts';
import { normalize, score } from '../../src/scoring/score.ts';
import type { Metrics } from '../../src/scoring/types.ts';
import { tempDir } from '../helpers/temp.ts';

const m = (value: number, unit = ''): Metrics[string] => ({ value, unit, source: 'test' });

describe('scoring', () => {
  it('should normalise linearly between worst and best, clamped', () => {
    assert.equal(normalize(5, 0, 10), 0.5);
    assert.equal(normalize(20, 0, 10), 0);
    assert.equal(normalize(-3, 0, 10), 1);
    assert.ok(Math.abs(normalize(0.95, 1, 0.9) - 0.5) < 1e-9);
  });

  it('should score the shipped rubric and mark scheduling as not measured on a local run', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    assert.equal(rubric.criteria.length, 9);
    const metrics: Metrics = {
      'image.max.bytes': m(5e6, 'B'),
      'startup.edge-agent.median-ms': m(20, 'ms'),
      'conformance.pass-ratio': m(1),
      'offline.success-rate': m(1),
      'offline.p99-ms': m(20, 'ms'),
      'offline.restarts': m(0),
      'sync.lost': m(0),
      'sync.duplicated': m(0),
      'sync.overhead-ratio': m(0.5),
      'sync.converge-ms': m(500, 'ms'),
      'downlink.propagation-ms': m(200, 'ms'),
      'resources.edge-peak-rss-bytes': m(10e6, 'B'),
      'resources.edge-cpu-ms-per-1k-writes': m(50, 'ms'),
    };
    const s = score(rubric, metrics);
    assert.equal(s.possible, 70);
    assert.equal(s.total, 70);
    assert.equal(s.percent, 100);
    assert.equal(s.gatesPassed, true);
    const sched = s.criteria.filter((c) => c.area === 'dynamic-scheduling');
    assert.deepEqual(
      sched.map((c) => [c.status, c.points]),
      [
        ['not-measured', undefined],
        ['not-measured', undefined],
        ['not-measured', undefined],
      ],
    );
  });

  it('should fail a gate on a lost write and on a gate metric that was never measured', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const s = score(rubric, { 'offline.success-rate': m(1), 'sync.lost': m(3), 'sync.duplicated': m(0) });
    assert.equal(s.gatesPassed, false);
    assert.ok(s.failedGates.some((g) => g.includes('sync.lost == 0 (measured 3)')));
    assert.ok(s.failedGates.some((g) => g.includes('offline.restarts') && g.includes('measured nothing')));
  });

  it('should weight terms inside a criterion', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const s = score(rubric, {
      'offline.success-rate': m(0.95),
      'offline.p99-ms': m(20),
      'offline.restarts': m(0),
      'sync.lost': m(0),
      'sync.duplicated': m(0),
    });
    const off = s.criteria.find((c) => c.id === 'offline-stability')!;
    // (3 × 0.5 + 1 × 1) / 4 × 15
    assert.ok(Math.abs(off.points! - 9.375) < 1e-9, `got ${off.points}`);
  });

  it('should reject a rubric with contradicting anchors, naming the file and field', async () => {
    using dir = tempDir('rubric');
    const file = join(dir.path, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'x',
        version: '1.0',
        criteria: [
          {
            id: 'a',
            title: 'A',
            area: 'lightweight-images',
            weight: 1,
            terms: [{ metric: 'x', direction: 'lower-is-better', best: 10, worst: 1 }],
          },
        ],
      }),
    );
    await assert.rejects(loadRubric(file), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.file, file);
      assert.equal(e.field, 'criteria[0].terms[0]');
      assert.match(e.message, /contradict/);
      return true;
    });
  });
});
