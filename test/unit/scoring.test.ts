import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkImageSize } from '../../src/checks/image.ts';
import { notProvided } from '../../src/checks/types.ts';
import { ScenarioError } from '../../src/core/errors.ts';
import { checkRubricMeasurable, loadRubric } from '../../src/scoring/rubric.ts';
import { mergeMetrics, MetricCollisionError, notProvidedMetrics } from '../../src/scoring/merge.ts';
import { normalize, score } from '../../src/scoring/score.ts';
import type { Metrics, Rubric } from '../../src/scoring/types.ts';
import { scenarioErrorAt } from '../helpers/errors.ts';
import { tempDir, writeJson } from '../helpers/temp.ts';
import { crit } from '../helpers/rubric.ts';

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
    const metrics: Metrics = fullLocal();
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

  it('should fail a gate on a lost write and report a gate metric that was never measured as not measured', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const s = score(rubric, { 'offline.success-rate': m(1), 'sync.lost': m(3), 'sync.duplicated': m(0) });
    assert.equal(s.gatesPassed, false);
    assert.ok(s.failedGates.some((g) => g.includes('sync.lost == 0 (measured 3)')));
    const off = s.criteria.find((c) => c.id === 'offline-stability')!;
    const restarts = off.gates.find((g) => g.gate.metric === 'offline.restarts')!;
    assert.equal(restarts.status, 'not-measured');
    assert.equal(restarts.passed, false);
    assert.ok(s.unmeasuredGates?.some((g) => g.includes('offline.restarts')));
    assert.ok(!s.failedGates.some((g) => g.includes('offline.restarts')));
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
    const file = writeJson(dir.path, 'bad.json', {
      name: 'x',
      version: '1.0',
      criteria: [
        crit({ weight: 1, terms: [{ metric: 'x', direction: 'lower-is-better', best: 10, worst: 1 }] }),
      ],
    });
    await assert.rejects(loadRubric(file), scenarioErrorAt('criteria[0].terms[0]', /contradict/, { file }));
  });

  it('should report each gate of a criterion the target cannot measure as not measured, never passed', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const s = score(rubric, fullLocal());
    const sched = s.criteria.find((c) => c.id === 'scheduling-latency')!;
    assert.equal(sched.status, 'not-measured');
    assert.deepEqual(
      sched.gates.map((g) => [g.gate.metric, g.status, g.passed]),
      [['reschedule.p99-ms', 'not-measured', false]],
    );
    assert.equal(
      s.gatesPassed,
      true,
      'a gate of a criterion this target cannot measure does not fail the run',
    );
  });
});

/** Full marks on every criterion a local run measures. */
function fullLocal(): Metrics {
  return {
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
}

function rubricFile(dir: string, r: unknown): string {
  const file = join(dir, 'rubric.json');
  writeFileSync(file, JSON.stringify(r));
  return file;
}

describe('rubric validation against the check catalogue', () => {
  const rejects = async (r: unknown, field: string, message: RegExp): Promise<void> => {
    using dir = tempDir('rubric');
    const file = rubricFile(dir.path, r);
    await assert.rejects(loadRubric(file), scenarioErrorAt(field, message, { file }));
  };

  it('should reject a term on a metric no check produces, naming the file and field', async () => {
    await rejects(
      {
        name: 'x',
        version: '1.0',
        criteria: [
          crit(),
          crit({
            id: 'b',
            terms: [{ metric: 'image.max.byte', direction: 'lower-is-better', best: 5e6, worst: 50e6 }],
          }),
        ],
      },
      'criteria[1].terms[0].metric',
      /no check produces the metric "image\.max\.byte"/,
    );
  });

  it('should reject a gate on a metric no check produces', async () => {
    await rejects(
      {
        name: 'x',
        version: '1.0',
        criteria: [crit({ gates: [{ metric: 'sync.lots', op: '==', value: 0, because: 'typo' }] })],
      },
      'criteria[0].gates[0].metric',
      /sync\.lots/,
    );
  });

  it('should accept per-image metrics declared as a pattern', async () => {
    using dir = tempDir('rubric');
    const r = await loadRubric(
      rubricFile(dir.path, {
        name: 'x',
        version: '1.0',
        criteria: [
          crit({
            terms: [
              { metric: 'image.edge-agent.bytes', direction: 'lower-is-better', best: 5e6, worst: 50e6 },
            ],
          }),
        ],
      }),
    );
    assert.equal(r.criteria[0]!.terms[0]!.metric, 'image.edge-agent.bytes');
  });

  it('should reject a term whose direction contradicts the metric', async () => {
    await rejects(
      {
        name: 'x',
        version: '1.0',
        criteria: [
          crit({
            terms: [{ metric: 'image.max.bytes', direction: 'higher-is-better', best: 50e6, worst: 5e6 }],
          }),
        ],
      },
      'criteria[0].terms[0].direction',
      /lower-is-better/,
    );
  });

  it('should reject absurd, negative and zero weights (1e308 would score Infinity / NaN)', async () => {
    const base = { name: 'x', version: '1.0' };
    await rejects({ ...base, criteria: [crit({ weight: 1e308 })] }, 'criteria[0].weight', /at most/);
    await rejects({ ...base, criteria: [crit({ weight: -5 })] }, 'criteria[0].weight', /positive/);
    await rejects({ ...base, criteria: [crit({ weight: 0 })] }, 'criteria[0].weight', /positive/);
    await rejects(
      {
        ...base,
        criteria: [
          crit({
            terms: [
              {
                metric: 'image.max.bytes',
                direction: 'lower-is-better',
                best: 5e6,
                worst: 50e6,
                weight: 1e308,
              },
            ],
          }),
        ],
      },
      'criteria[0].terms[0].weight',
      /at most/,
    );
  });

  it('should reject a rubric with no criterion', async () => {
    await rejects({ name: 'x', version: '1.0', criteria: [] }, 'criteria', /.+/);
  });

  it('should reject before a campaign a rubric of which nothing can be measured on the target', async () => {
    using dir = tempDir('rubric');
    const file = rubricFile(dir.path, {
      name: 'sched',
      version: '1.0',
      criteria: [
        crit({
          area: 'dynamic-scheduling',
          terms: [{ metric: 'scheduling.p99-ms', direction: 'lower-is-better', best: 50, worst: 5000 }],
        }),
      ],
    });
    const r = await loadRubric(file);
    assert.throws(
      () => checkRubricMeasurable(r, 'local', file),
      (e: unknown) =>
        e instanceof ScenarioError &&
        e.file === file &&
        e.field === 'criteria' &&
        /target local/.test(e.message),
    );
    checkRubricMeasurable(r, 'kube-local', file);
    checkRubricMeasurable(await loadRubric('scenarios/rubric.ts'), 'local', 'scenarios/rubric.ts');
  });

  it('should reject an area-wide gate without a reason', async () => {
    await rejects(
      {
        name: 'x',
        version: '1.0',
        criteria: [
          crit({ gates: [{ metric: 'image.max.bytes', op: '<', value: 1, because: 'b', zeroes: 'area' }] }),
        ],
      },
      'criteria[0].gates[0].reason',
      /reason/,
    );
  });
});

describe('not measured vs not provided', () => {
  it('should never let a submission without images score above one with them', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    // The stack with an image: mediocre size (half marks on image-size), everything else perfect.
    const withImage = score(rubric, { ...fullLocal(), 'image.max.bytes': m(9e6, 'B') });
    const { 'image.max.bytes': _dropped, ...rest } = fullLocal();
    const check = checkImageSize({}, 10e6);
    assert.equal(check.status, 'failed');
    const without = score(rubric, rest, { notProvided: notProvidedMetrics([check]) });
    assert.ok(
      without.percent <= withImage.percent,
      `without images ${without.percent}% must not beat with images ${withImage.percent}%`,
    );
    const img = without.criteria.find((c) => c.id === 'image-size')!;
    assert.equal(img.status, 'not-provided');
    assert.equal(img.points, 0);
    assert.match(img.reason ?? '', /names no image/);
    assert.equal(without.possible, withImage.possible, 'the percentage is over the same criteria');
    const gate = img.gates.find((g) => g.gate.metric === 'image.max.bytes')!;
    assert.equal(gate.status, 'failed');
    assert.equal(without.gatesPassed, false);
  });

  it('should score a not-provided term zero inside a partly measured criterion', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const { 'sync.converge-ms': _c, ...rest } = fullLocal();
    const s = score(rubric, rest, { notProvided: { 'sync.converge-ms': 'resumed-sync: not converged' } });
    const eff = s.criteria.find((c) => c.id === 'sync-efficiency')!;
    // (2 × 1 + 1 × 0 + 1 × 1) / 4 × 10
    assert.equal(eff.points, 7.5);
    assert.equal(eff.status, 'scored');
    const notMeasuredRun = score(rubric, rest);
    assert.ok(s.total <= notMeasuredRun.total);
  });

  it('should build not-provided checks from the catalogue', () => {
    const c = notProvided('resumed-sync', 'Resumed sync', 'no write was acknowledged');
    assert.equal(c.status, 'failed');
    assert.deepEqual(c.notProvided?.metrics, [
      'sync.lost',
      'sync.duplicated',
      'sync.indeterminate',
      'sync.acknowledged',
      'sync.converge-ms',
    ]);
  });
});

describe('failed gates', () => {
  it('should zero the criterion a failed gate guards, and say so first', () => {
    const rubric: Rubric = {
      name: 'x',
      version: '1.0',
      criteria: [
        {
          id: 'img',
          title: 'Image',
          area: 'lightweight-images',
          weight: 10,
          terms: [{ metric: 'image.max.bytes', direction: 'lower-is-better', best: 5e6, worst: 50e6 }],
          gates: [{ metric: 'image.max.bytes', op: '<', value: 10e6, because: 'under 10 MB' }],
        },
        {
          id: 'start',
          title: 'Start',
          area: 'lightweight-images',
          weight: 10,
          terms: [
            { metric: 'startup.edge-agent.median-ms', direction: 'lower-is-better', best: 20, worst: 2000 },
          ],
        },
      ],
    };
    const s = score(rubric, { 'image.max.bytes': m(12e6), 'startup.edge-agent.median-ms': m(20) });
    const img = s.criteria[0]!;
    assert.equal(img.points, 0);
    assert.equal(img.status, 'gate-failed');
    assert.match(img.reason ?? '', /image\.max\.bytes < 10000000/);
    assert.equal(s.criteria[1]!.points, 10, 'a criterion-scoped gate leaves the others alone');
    assert.equal(s.total, 10);
    assert.match(s.failedGates[0]!, /zeroes img/);
  });

  it('should zero the whole edge–cloud area when acknowledged data is lost (lost writes never outscore a slow start)', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const lossy = score(rubric, { ...fullLocal(), 'sync.lost': m(202) });
    for (const c of lossy.criteria.filter((x) => x.area === 'edge-cloud-collaboration')) {
      assert.equal(c.points, 0, c.id);
      assert.equal(c.status, 'gate-failed', c.id);
    }
    assert.match(
      lossy.failedGates[0]!,
      /zeroes the whole edge-cloud-collaboration area: an edge that loses data/,
    );
    const slow = score(rubric, { ...fullLocal(), 'startup.edge-agent.median-ms': m(2000) });
    assert.ok(lossy.percent < slow.percent, `${lossy.percent}% must be below ${slow.percent}%`);
    const gate = rubric.criteria
      .find((c) => c.id === 'offline-stability')!
      .gates!.find((g) => g.metric === 'sync.lost')!;
    assert.equal(gate.zeroes, 'area');
    assert.ok(gate.reason && gate.reason.length > 20);
    assert.equal(rubric.version, '1.2.0');
  });

  it('should score an interrupted run as nothing', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const s = score(rubric, fullLocal(), { interrupted: true });
    assert.equal(s.total, 0);
    assert.equal(s.gatesPassed, false);
    assert.equal(s.interrupted, true);
    assert.match(s.failedGates[0]!, /interrupted/);
  });
});

describe('metrics merge', () => {
  it('should merge the metrics of distinct checks', () => {
    const merged = mergeMetrics([
      { id: 'a', metrics: { x: m(1) } },
      { id: 'b', metrics: { y: m(2) } },
    ]);
    assert.deepEqual(Object.keys(merged).sort(), ['x', 'y']);
  });
  it('should refuse a metric produced by two checks, naming both', () => {
    assert.throws(
      () =>
        mergeMetrics([
          { id: 'scheduling-latency', metrics: { 'scheduling.p99-ms': m(1) } },
          { id: 'bench', metrics: { 'scheduling.p99-ms': m(2) } },
        ]),
      (e: unknown) => {
        assert.ok(e instanceof MetricCollisionError);
        assert.match(e.message, /scheduling\.p99-ms .*scheduling-latency and bench/);
        return true;
      },
    );
  });
});
