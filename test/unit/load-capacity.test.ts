import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCapacity, judgeStep, type StepMeasure } from '../../src/load/capacity.ts';

/** A fake target on a virtual clock: p99 jumps once the rate passes `knee`; errors past `errAt`. */
function fakeTarget(knee: number, errAt = Infinity, clientMax = Infinity) {
  const clock = { now: 0, probes: [] as number[] };
  const probe = (rate: number, ms: number): Promise<StepMeasure> => {
    clock.now += ms;
    clock.probes.push(rate);
    const offered = Math.round((rate * ms) / 1000);
    const dropped = rate > clientMax ? Math.round(offered * 0.2) : 0;
    return Promise.resolve({
      requests: offered - dropped,
      dropped,
      p99Ms: rate <= knee ? 20 : 20 + (rate - knee),
      errorRate: rate > errAt ? 0.05 : 0,
    });
  };
  return { clock, probe };
}

const slo = { p99Ms: 100, maxErrorRate: 0.01 };

describe('capacity search', () => {
  it('should find the highest sustained rate within the resolution (p99 SLO)', async () => {
    const f = fakeTarget(730); // p99 > 100 ms above 810/s
    const r = await findCapacity({ slo, startRate: 50, maxRate: 100_000, stepMs: 10_000, probe: f.probe });
    assert.equal(r.limitedBy, 'slo');
    assert.ok(r.capacity <= 810 && r.capacity >= 810 * 0.95, `capacity ${r.capacity}`);
    assert.equal(
      r.steps.find((s) => s.rate === r.capacity)?.ok,
      true,
      'the reported rate was measured and held',
    );
    assert.ok(r.steps.every((s) => s.ok === s.rate <= 810));
    assert.ok(r.steps.length <= 12, `${r.steps.length} steps`);
    assert.equal(f.clock.now, r.steps.length * 10_000, 'one step of virtual time per probe');
    assert.equal(r.steps.filter((s) => !s.ok)[0]?.breach, 'p99');
  });
  it('should re-run a step that broke once (a transient spike) before it counts, with confirmBreaches', async () => {
    const f = fakeTarget(730);
    const spiky = (rate: number, ms: number): Promise<StepMeasure> =>
      f.probe(rate, ms).then((m) => (f.clock.probes.length === 2 ? { ...m, p99Ms: 900 } : m));
    const once = await findCapacity({ slo, startRate: 50, maxRate: 100_000, stepMs: 1000, probe: spiky });
    assert.ok(
      once.capacity < 100,
      `without confirmation the spike at 100/s caps the search: ${once.capacity}`,
    );
    f.clock.probes.length = 0;
    const r = await findCapacity({
      slo,
      startRate: 50,
      maxRate: 100_000,
      stepMs: 1000,
      probe: spiky,
      confirmBreaches: 1,
    });
    assert.ok(r.capacity <= 810 && r.capacity >= 810 * 0.95, `capacity ${r.capacity}`);
    assert.deepEqual(
      r.steps.slice(0, 3).map((s) => [s.rate, s.ok]),
      [
        [50, true],
        [100, false],
        [100, true],
      ],
      'the spike and its re-run are both recorded',
    );
    const breaks = r.steps.filter((s) => !s.ok && s.rate > 810);
    assert.ok(
      breaks.length >= 2 && breaks.every((s) => r.steps.filter((x) => x.rate === s.rate).length === 2),
    );
  });

  it('should stop on errors and name the breach', async () => {
    const f = fakeTarget(1e9, 300);
    const r = await findCapacity({ slo, startRate: 100, maxRate: 10_000, stepMs: 1000, probe: f.probe });
    assert.ok(r.capacity <= 300 && r.capacity >= 285, `capacity ${r.capacity}`);
    assert.ok(r.steps.some((s) => s.breach === 'errors'));
  });
  it('should say when the client, not the target, was the limit', async () => {
    const f = fakeTarget(1e9, Infinity, 500);
    const r = await findCapacity({ slo, startRate: 100, maxRate: 10_000, stepMs: 1000, probe: f.probe });
    assert.equal(r.limitedBy, 'client');
    assert.ok(r.capacity <= 500);
  });
  it('should stop at maxRate, bisect below a failing start rate, and report 0 when nothing holds', async () => {
    const a = await findCapacity({
      slo,
      startRate: 100,
      maxRate: 1000,
      stepMs: 1000,
      probe: fakeTarget(1e9).probe,
    });
    assert.deepEqual([a.capacity, a.limitedBy], [1000, 'maxRate']);
    assert.deepEqual(
      a.steps.map((s) => s.rate),
      [100, 200, 400, 800, 1000],
    );
    const b = await findCapacity({
      slo,
      startRate: 100,
      maxRate: 1000,
      stepMs: 1000,
      probe: fakeTarget(0, 0).probe,
    });
    assert.equal(b.capacity, 0);
  });
  it("should blame the client for a p99 breach that the runner's own lateness explains", () => {
    const m = { requests: 3000, dropped: 0, p99Ms: 180, errorRate: 0 };
    assert.equal(judgeStep(1000, { ...m, lagP99Ms: 5 }, slo).breach, 'p99', 'a late target');
    assert.equal(judgeStep(1000, { ...m, lagP99Ms: 150 }, slo).breach, 'client', 'a late runner');
    assert.equal(judgeStep(1000, { ...m, p99Ms: 90, lagP99Ms: 80 }, slo).ok, true, 'within the SLO: holds');
  });

  it('should judge a step with no answered request as not holding', () => {
    assert.equal(judgeStep(10, { requests: 0, dropped: 0, p99Ms: 0, errorRate: 0 }, slo).ok, false);
  });
});
