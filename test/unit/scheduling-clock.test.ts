import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitingComponent } from '../../src/scheduling/bench-limits.ts';
import { phaseResult } from '../../src/scheduling/bench-round.ts';
import type { PhaseResult } from '../../src/scheduling/bench-types.ts';
import {
  checkedLatencies,
  combineOffsets,
  latencyResolutionMs,
  measureClockOffset,
} from '../../src/scheduling/clock.ts';
import type { PodTimes } from '../../src/scheduling/pod-tracker.ts';

/** Two clocks on one virtual timeline: every reading takes `stepMs`; the wall clock is `offsetMs` ahead, in whole ms. */
function clocks(offsetMs: number, stepMs = 0.003, stallEvery = 0) {
  let t = 1_000.123;
  let calls = 7;
  const tick = (): void => {
    t += stepMs;
    // Descheduled now and then (a fixed pseudo-random pattern): 0.4 ms lost.
    calls = (calls * 1103515245 + 12345) % 2 ** 31;
    if (stallEvery && calls % stallEvery === 0) t += 0.4;
  };
  return {
    now: (): number => {
      tick();
      return t;
    },
    wall: (): number => {
      tick();
      return Math.floor(t + offsetMs);
    },
  };
}

describe('scheduling bench clock alignment', () => {
  it('should measure the wall clock against the harness clock to within microseconds', () => {
    for (const offset of [5.25, -3.6, 1_733_000_000_000.4]) {
      const c = clocks(offset);
      const m = measureClockOffset(5, c.now, c.wall);
      assert.ok(
        Math.abs(m.offsetMs - offset) <= m.uncertaintyMs + 1e-6,
        `${offset}: got ${JSON.stringify(m)}`,
      );
      assert.ok(m.uncertaintyMs < 0.01, `uncertainty ${m.uncertaintyMs}`);
    }
  });

  it('should keep the narrowest edge when the process is descheduled during some samples', () => {
    const c = clocks(2.5, 0.003, 97);
    const m = measureClockOffset(8, c.now, c.wall);
    assert.ok(Math.abs(m.offsetMs - 2.5) <= m.uncertaintyMs + 1e-6);
    assert.ok(m.uncertaintyMs < 0.01);
  });

  it('should widen the uncertainty by the drift between two readings', () => {
    const c = combineOffsets({ offsetMs: 4, uncertaintyMs: 0.002 }, { offsetMs: 5, uncertaintyMs: 0.003 });
    assert.deepEqual(c, { offsetMs: 4.5, uncertaintyMs: 0.503 });
    assert.equal(latencyResolutionMs(c), 1.1);
    assert.equal(latencyResolutionMs({ offsetMs: 0, uncertaintyMs: 0.001 }), 0.1);
  });

  it('should never report a negative or sub-resolution latency', () => {
    const r = checkedLatencies(
      [
        { pod: 'a', ms: 4.2 },
        { pod: 'b', ms: 0.03 },
        { pod: 'c', ms: -0.05 },
      ],
      0.1,
    );
    assert.deepEqual(r, { values: [4.2, 0.1, 0.1], subResolution: 2 });
    assert.throws(
      () => checkedLatencies([{ pod: 'late', ms: -0.2 }], 0.1),
      /pod late bound 0.200 ms before its create request was sent/,
    );
  });

  it('should move event times onto the harness clock before taking latencies', () => {
    // The case of the report: the scheduler's events 5 ms ahead of nowMs(); bound 4.2 ms after
    // the create was sent as the scheduler saw it, so a naive difference says −0.8 ms.
    const offsetMs = -5;
    const times: PodTimes[] = Array.from({ length: 100 }, (_, i) => ({
      name: `p${i}`,
      created: 10_000 + i * 10,
      eventBound: 10_000 + i * 10 + 4.2 + offsetMs,
      watchedBound: 10_000 + i * 10 + 6,
      node: 'n',
    }));
    assert.throws(() => phaseResult(times, 100, { first: 10_000, last: 10_990 }), /clock alignment/);
    const ph = phaseResult(times, 100, { first: 10_000, last: 10_990 }, { offsetMs, uncertaintyMs: 0.002 });
    assert.equal(ph.latency.p50, 4.2);
    assert.ok(ph.latency.p50 >= ph.clock!.resolutionMs);
    assert.equal(ph.subResolution, 0);
    assert.equal(ph.boundFromEvents, 100);
  });
});

describe('scheduling bench: what limits a throughput figure', () => {
  const phase = (
    over: Partial<PhaseResult> & { limiter?: number; algo?: number; cpu?: number; bind?: number },
  ): PhaseResult => ({
    pods: 2000,
    arrivalPerSecond: over.arrivalPerSecond ?? 900,
    boundFromEvents: 2000,
    latency: { count: 2000, p50: 1, p99: 2, max: 3 },
    slowest: [],
    throughput: over.throughput ?? 250,
    makespanMs: 8000,
    scheduler: {
      pods: 2000,
      queueToBoundMs: 3,
      algorithmMs: over.algo ?? 0.5,
      bindMs: over.bind ?? 3,
      limiterWaitMs: over.limiter ?? 0,
      cpuMsPerPod: over.cpu ?? 1,
    },
  });
  const cases: [string, PhaseResult, number, string][] = [
    ['the client token bucket at qps 50', phase({ throughput: 52.6, limiter: 400 }), 50, 'client-rate-limit'],
    [
      // Measured on this machine under a load average of 28: 42.8 created/s, 41.8 bound/s,
      // binding calls of 330 ms — the creator's 16 slots were waiting on the API server too.
      'creations and bindings both slow behind the API server',
      phase({ throughput: 41.8, arrivalPerSecond: 42.8, bind: 330 }),
      5000,
      'api-server',
    ],
    [
      'pods created barely faster than bound',
      phase({ throughput: 250, arrivalPerSecond: 260 }),
      5000,
      'pod-creator',
    ],
    ['a scheduling cycle busy 75 % of the time', phase({ throughput: 250, algo: 3 }), 5000, 'scheduler'],
    ['a scheduler using 1.25 cores', phase({ throughput: 250, cpu: 5 }), 5000, 'scheduler'],
    ['an idle scheduler waiting on its binding calls', phase({ throughput: 250 }), 5000, 'api-server'],
  ];
  for (const [name, p, qps, want] of cases)
    it(`should name ${want} for ${name}`, () => {
      const l = limitingComponent(p, qps, 16);
      assert.equal(l.component, want, l.why);
    });
  it('should say unknown without the scheduler metrics', () => {
    const { scheduler: _s, ...p } = phase({});
    assert.equal(limitingComponent(p, 5000, 16).component, 'unknown');
  });
});
