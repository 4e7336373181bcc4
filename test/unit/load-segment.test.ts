import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors.ts';
import { arrivalTimes, planScenarios } from '../../src/load/schedule.ts';
import {
  ownsArrival,
  parseSegment,
  scaleCount,
  segmentArrivals,
  segmentScenario,
  segmentsOf,
  sequenceDenominator,
  type Segment,
} from '../../src/load/segment.ts';

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
/** An uneven partition of [0, 1): denominators 2, 6 and 3. */
const uneven: Segment[] = ['0:1/2', '1/2:2/3', '2/3:1'].map((t) => parseSegment(t));

describe('execution segments (--load-replicas)', () => {
  it('should parse k6 segment syntax and refuse what is not a segment', () => {
    assert.deepEqual(parseSegment('1/3:2/3'), { from: { n: 1, d: 3 }, to: { n: 2, d: 3 } });
    assert.deepEqual(parseSegment('0:2/4'), { from: { n: 0, d: 1 }, to: { n: 1, d: 2 } });
    for (const bad of ['1/2', '2/3:1/3', '1/2:1/2', '0:3/2', 'a:1', '0:1/0', '0:1:1'])
      assert.throws(() => parseSegment(bad), UsageError, bad);
  });

  it('should split every count exactly over a partition, whatever the total', () => {
    for (const segs of [segmentsOf(1), segmentsOf(3), segmentsOf(7), uneven])
      for (let total = 0; total <= 60; total++)
        assert.equal(sum(segs.map((s) => scaleCount(total, s))), total, `${total} over ${segs.length}`);
    assert.deepEqual(
      segmentsOf(3).map((s) => scaleCount(10, s)),
      [3, 3, 4],
    );
  });

  it('should give each arrival to exactly one segment of a sequence, with the same denominator', () => {
    for (const segs of [segmentsOf(4), uneven]) {
      const d = sequenceDenominator(segs);
      for (let k = 0; k < 200; k++)
        assert.equal(segs.filter((s) => ownsArrival(k, s, d)).length, 1, `arrival ${k}`);
    }
    assert.equal(sequenceDenominator(uneven), 6);
    // each segment's own denominator is not enough for an uneven sequence: arrival 2 is claimed twice
    assert.equal(uneven.filter((s) => ownsArrival(2, s)).length, 2);
  });

  it('should split a ramping-arrival-rate test into slices whose union is the whole, times unchanged', () => {
    const [s] = planScenarios({
      scenarios: {
        ramp: {
          executor: 'ramping-arrival-rate',
          startRate: 10,
          timeUnit: '1s',
          preAllocatedVUs: 5,
          maxVUs: 11,
          stages: [
            { duration: '10s', target: 200 },
            { duration: '5s', target: 0 },
          ],
        },
      },
    });
    const whole = [...arrivalTimes(s!)];
    const segs = segmentsOf(3);
    const slices = segs.map((g) => [...segmentArrivals(arrivalTimes(segmentScenario(s!, g)), g)]);
    assert.deepEqual(
      slices.flat().sort((a, b) => a - b),
      whole,
    );
    for (const sl of slices) assert.ok(Math.abs(sl.length - whole.length / 3) <= 1, `${sl.length}`);
    // at every point of the ramp each runner has its third, within one arrival
    for (let i = 0; i < whole.length; i += 37) {
      const t = whole[i]!;
      for (const sl of slices) assert.ok(Math.abs(sl.filter((x) => x <= t).length - (i + 1) / 3) <= 1);
    }
    // VUs are caps: the shares of 5 and 11, at least one each
    assert.deepEqual(
      segs.map((g) => segmentScenario(s!, g)).map((v) => [v.preAllocatedVUs, v.maxVUs, v.startRate]),
      [
        [1, 3, 10],
        [2, 4, 10],
        [2, 4, 10],
      ],
    );
  });

  it('should scale the VUs and iterations of the closed-model executors', () => {
    const plan = planScenarios({
      scenarios: {
        shared: { executor: 'shared-iterations', vus: 4, iterations: 10 },
        pervu: { executor: 'per-vu-iterations', vus: 5, iterations: 3 },
        ramp: {
          executor: 'ramping-vus',
          startVUs: 2,
          stages: [
            { duration: '5s', target: 10 },
            { duration: '5s', target: 1 },
          ],
        },
      },
    });
    const segs = segmentsOf(2);
    const parts = plan.map((p) => segs.map((g) => segmentScenario(p, g)));
    const [shared, pervu, ramp] = parts as [(typeof parts)[0], (typeof parts)[0], (typeof parts)[0]];
    assert.deepEqual(
      shared.map((x) => [x.vus, x.iterations]),
      [
        [2, 5],
        [2, 5],
      ],
    );
    assert.deepEqual(
      pervu.map((x) => [x.vus, x.iterations]),
      [
        [2, 3],
        [3, 3],
      ],
    );
    assert.deepEqual(
      ramp.map((x) => [x.vus, x.stages.map((st) => st.target)]),
      [
        [1, [5, 0]],
        [1, [5, 1]],
      ],
    );
    assert.equal(plan[2]!.stages[0]!.target, 10, 'the planned scenario itself is not changed');
  });
});
