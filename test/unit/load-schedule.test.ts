import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors.ts';
import { seededRandom } from '../../src/load/rng.ts';
import { arrivalTimes, maxVus, planScenarios, scenariosOf, vuTarget } from '../../src/load/schedule.ts';
import type { Options } from '../../src/load/types.ts';

const one = (o: Options) => planScenarios(o, 'x.ts')[0]!;

describe('arrival schedules', () => {
  it('should space constant-arrival-rate iterations evenly', () => {
    const t = [
      ...arrivalTimes(
        one({
          scenarios: {
            s: { executor: 'constant-arrival-rate', rate: 10, duration: '2s', preAllocatedVUs: 1 },
          },
        }),
      ),
    ];
    assert.equal(t.length, 20);
    assert.equal(t[1]! - t[0]!, 100);
  });
  it('should honour timeUnit', () => {
    const s = one({
      scenarios: {
        s: {
          executor: 'constant-arrival-rate',
          rate: 30,
          timeUnit: '1m',
          duration: '10s',
          preAllocatedVUs: 1,
        },
      },
    });
    assert.equal([...arrivalTimes(s)].length, 5);
  });
  it('should ramp: 0→100/s over 10 s gives 500 iterations, denser at the end', () => {
    const t = [
      ...arrivalTimes(
        one({
          scenarios: {
            s: {
              executor: 'ramping-arrival-rate',
              startRate: 0,
              stages: [{ target: 100, duration: '10s' }],
              preAllocatedVUs: 1,
            },
          },
        }),
      ),
    ];
    assert.ok(Math.abs(t.length - 500) <= 1, `got ${t.length}`);
    assert.ok(t.filter((x) => x < 5000).length < 150);
    for (let i = 1; i < t.length; i++) assert.ok(t[i]! >= t[i - 1]!);
  });
  it('should be lazy (an hour at 100k/s is not materialized)', () => {
    const g = arrivalTimes(
      one({
        scenarios: {
          s: { executor: 'constant-arrival-rate', rate: 100_000, duration: '1h', preAllocatedVUs: 1 },
        },
      }),
    );
    assert.equal(g.next().value, 0);
    assert.equal(g.next().value, 0.01);
  });
  it('should give nothing for a closed-model executor', () => {
    assert.deepEqual([...arrivalTimes(one({ vus: 3, duration: '1s' }))], []);
  });
});

describe('k6 option shorthands and validation', () => {
  it('should turn stages into ramping-vus, vus+duration into constant-vus, iterations into shared-iterations', () => {
    assert.equal(
      scenariosOf({ stages: [{ duration: '1s', target: 5 }] })['default']!.executor,
      'ramping-vus',
    );
    assert.equal(scenariosOf({ vus: 2, duration: '1s' })['default']!.executor, 'constant-vus');
    assert.equal(scenariosOf({ vus: 2, iterations: 10 })['default']!.executor, 'shared-iterations');
    assert.equal(scenariosOf({})['default']!.executor, 'per-vu-iterations');
  });
  it('should default as k6 does (exec default, gracefulStop 30s, maxVUs = preAllocatedVUs)', () => {
    const s = one({
      scenarios: { a: { executor: 'constant-arrival-rate', rate: 1, duration: '1s', preAllocatedVUs: 7 } },
    });
    assert.equal(s.exec, 'default');
    assert.equal(s.gracefulStopMs, 30_000);
    assert.equal(s.maxVUs, 7);
    assert.equal(maxVus(s), 7);
  });
  it('should name the file and field of a bad option', () => {
    /** Scenario `a` is refused at `options.scenarios.a.<field>`. */
    const bad = (a: unknown, field: string): void => {
      assert.throws(
        () => planScenarios({ scenarios: { a } } as Options, 'load/x.ts'),
        (e: unknown) =>
          e instanceof UsageError && e.file === 'load/x.ts' && e.field === `options.scenarios.a.${field}`,
        field,
      );
    };
    bad({ executor: 'constant-vuz', vus: 1, duration: '1s' }, 'executor');
    bad({ executor: 'constant-vus', vus: 1, duration: 'fast' }, 'duration');
    bad({ executor: 'constant-vus', vus: 0, duration: '1s' }, 'vus');
    bad({ executor: 'constant-arrival-rate', rate: 1, duration: '1s' }, 'preAllocatedVUs');
    bad({ executor: 'ramping-vus', stages: [{ duration: '1s', target: -1 }] }, 'stages[0].target');
    bad(
      { executor: 'constant-arrival-rate', rate: 1, duration: '1s', preAllocatedVUs: 5, maxVUs: 2 },
      'maxVUs',
    );
  });
  it('should ramp VU targets linearly between stages from startVUs', () => {
    const s = one({
      scenarios: {
        r: {
          executor: 'ramping-vus',
          startVUs: 0,
          stages: [
            { duration: '10s', target: 10 },
            { duration: '10s', target: 10 },
            { duration: '10s', target: 0 },
          ],
        },
      },
    });
    assert.deepEqual(
      [0, 5000, 10_000, 15_000, 25_000, 30_000, 40_000].map((t) => vuTarget(s, t)),
      [0, 5, 10, 10, 5, 0, 0],
    );
    assert.equal(s.durationMs, 30_000);
    assert.equal(maxVus(s), 10);
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
