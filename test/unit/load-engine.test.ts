import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resetRuntime, runScript } from '../../src/load/engine.ts';
import exec from '../../src/load/k6/execution.ts';
import { check, group, sleep } from '../../src/load/k6/index.ts';
import { Counter, Gauge, Rate, Trend } from '../../src/load/k6/metrics.ts';
import type { LoadScript, SummaryData } from '../../src/load/types.ts';

/** Runs a script object in-process (no HTTP; executors, checks, metrics, thresholds). */
async function run(mod: LoadScript, env: Record<string, string> = {}) {
  const log: string[] = [];
  const res = await runScript(mod, { file: 'test.ts', env, log: (l) => log.push(l), evalEveryMs: 50 });
  return { ...res, log, m: (k: string) => res.data.metrics[k]?.values ?? {} };
}

describe('load engine executors (k6 semantics)', () => {
  it('should run shared-iterations exactly and per-vu-iterations vus × iterations', async () => {
    resetRuntime();
    const seen = new Set<number>();
    const r = await run({
      options: {
        scenarios: {
          shared: { executor: 'shared-iterations', vus: 3, iterations: 17, exec: 'a' },
          each: { executor: 'per-vu-iterations', vus: 4, iterations: 5, exec: 'b' },
        },
      },
      a: async () => {
        await sleep(0.001);
        check(1, { shared: () => true });
      },
      b: () => {
        seen.add(__VU);
        check(1, { each: () => true });
      },
    });
    const checks = r.data.root_group.checks;
    assert.equal(checks.find((c) => c.name === 'shared')?.passes, 17);
    assert.equal(checks.find((c) => c.name === 'each')?.passes, 20);
    assert.equal(seen.size, 4, 'four distinct VUs');
    assert.equal(r.m('iterations')['count'], 37);
  });

  it('should count an exception in ANY executor as a failed iteration and go on', async () => {
    resetRuntime();
    let n = 0;
    const boom = (): void => {
      n++;
      if (n % 2 === 0) throw new Error('boom');
    };
    const r = await run({
      options: {
        scenarios: {
          cv: { executor: 'constant-vus', vus: 2, duration: '200ms', exec: 'f' },
          si: { executor: 'shared-iterations', vus: 1, iterations: 4, exec: 'f' },
          ca: {
            executor: 'constant-arrival-rate',
            rate: 50,
            duration: '200ms',
            preAllocatedVUs: 2,
            exec: 'f',
          },
        },
      },
      f: async () => {
        await sleep(0.005);
        boom();
      },
    });
    assert.ok(r.iterationErrors >= 3, `errors: ${r.iterationErrors}`);
    assert.ok(r.m('iterations')['count']! > 10, 'the run went on after the exceptions');
    assert.ok(r.log.some((l) => l.includes('iteration failed: boom')));
  });

  it('should pass setup data to iterations and teardown, and handleSummary gets the data', async () => {
    resetRuntime();
    const got: unknown[] = [];
    let torn: unknown;
    let summary: SummaryData | undefined;
    await run({
      options: { vus: 2, iterations: 4 },
      setup: () => ({ token: 'abc', n: 1 }),
      default: (d: unknown) => void got.push(d),
      teardown: (d: unknown) => void (torn = d),
      handleSummary: (d: SummaryData) => {
        summary = d;
        return {};
      },
    });
    assert.equal(got.length, 4);
    assert.deepEqual(got[0], { token: 'abc', n: 1 });
    assert.deepEqual(torn, { token: 'abc', n: 1 });
    assert.equal(summary?.metrics['iterations']?.values['count'], 4);
    assert.deepEqual(summary?.setup_data, { token: 'abc', n: 1 });
  });

  it('should ramp VUs up and down (ramping-vus) and report vus_max', async () => {
    resetRuntime();
    const active = new Set<number>();
    let peak = 0;
    const r = await run({
      options: {
        scenarios: {
          r: {
            executor: 'ramping-vus',
            startVUs: 0,
            // a 300 ms plateau at 6, so that a stalled machine still sees the peak
            stages: [
              { duration: '300ms', target: 6 },
              { duration: '300ms', target: 6 },
              { duration: '300ms', target: 0 },
            ],
            gracefulRampDown: '0s',
          },
        },
      },
      default: async () => {
        active.add(__VU);
        peak = Math.max(peak, active.size);
        await sleep(0.02);
        active.delete(__VU);
      },
    });
    assert.ok(peak >= 5 && peak <= 6, `peak ${peak}`);
    assert.equal(r.m('vus_max')['max'], r.m('vus_max')['value']);
  });

  it('should drop arrivals beyond maxVUs and count dropped_iterations', async () => {
    resetRuntime();
    const r = await run({
      options: {
        scenarios: {
          a: {
            executor: 'constant-arrival-rate',
            rate: 100,
            duration: '300ms',
            preAllocatedVUs: 1,
            maxVUs: 2,
          },
        },
      },
      default: () => sleep(0.2),
    });
    // 30 arrivals, 2 VUs each busy ≥ 200 ms: every arrival either ran or was dropped, and most dropped.
    assert.equal(r.m('iterations')['count']! + r.droppedIterations, 30);
    assert.ok(r.droppedIterations >= 15, `dropped ${r.droppedIterations}`);
    assert.equal(r.m('dropped_iterations')['count'], r.droppedIterations);
  });

  it('should interrupt iterations after gracefulStop', async () => {
    resetRuntime();
    let finished = 0;
    const t0 = performance.now();
    const r = await run({
      options: {
        scenarios: { a: { executor: 'constant-vus', vus: 2, duration: '50ms', gracefulStop: '100ms' } },
      },
      default: async () => {
        await sleep(10);
        finished++;
      },
    });
    assert.equal(finished, 0);
    assert.ok(performance.now() - t0 < 5000);
    assert.equal(r.iterationErrors, 0, 'an interruption is not an error');
  });

  it('should keep groups, per-scenario env and tags, and custom metrics', async () => {
    resetRuntime();
    const t = new Trend('my_trend', true);
    const c = new Counter('my_counter');
    const rt = new Rate('my_rate');
    const g = new Gauge('my_gauge');
    const envs = new Set<string>();
    const r = await run({
      options: {
        scenarios: {
          a: { executor: 'per-vu-iterations', vus: 1, iterations: 3, env: { WHO: 'a' }, tags: { kind: 'x' } },
          b: { executor: 'per-vu-iterations', vus: 1, iterations: 2, env: { WHO: 'b' }, tags: { kind: 'y' } },
        },
        thresholds: {
          'my_trend{kind:x}': ['max<100'],
          'my_counter{scenario:b}': ['count==4'],
          my_rate: ['rate>0.5'],
        },
      },
      default: async () => {
        envs.add(`${exec.scenario.name}=${__ENV['WHO']}`);
        await group('outer', async () => {
          await sleep(0.001);
          group('inner', () => check(true, { 'in a group': (v) => v }));
          t.add(exec.scenario.name === 'a' ? 10 : 500);
        });
        c.add(2);
        rt.add(exec.scenario.name === 'a');
        g.add(7);
      },
    });
    assert.deepEqual([...envs].sort(), ['a=a', 'b=b']);
    const th = Object.fromEntries(r.thresholds.map((x) => [`${x.metric} ${x.expression}`, x.ok]));
    assert.deepEqual(th, {
      'my_trend{kind:x} max<100': true,
      'my_counter{scenario:b} count==4': true,
      'my_rate rate>0.5': true,
    });
    assert.equal(r.m('my_counter')['count'], 10);
    assert.equal(r.m('my_gauge')['value'], 7);
    const inner = r.data.root_group.groups[0]?.groups[0];
    assert.equal(inner?.path, '::outer::inner');
    assert.equal(inner?.checks[0]?.passes, 5);
    assert.equal(r.data.metrics['my_trend']?.contains, 'time');
  });

  it('should abort the run on an abortOnFail threshold after delayAbortEval, and mark it', async () => {
    resetRuntime();
    const t0 = performance.now();
    const r = await run({
      options: {
        scenarios: { a: { executor: 'constant-vus', vus: 1, duration: '20s' } },
        thresholds: { checks: [{ threshold: 'rate>0.9', abortOnFail: true, delayAbortEval: '200ms' }] },
      },
      default: async () => {
        check(0, { 'always fails': (v) => v === 1 });
        await sleep(0.01);
      },
    });
    const took = performance.now() - t0;
    assert.ok(took >= 200 && took < 10_000, `took ${took}`);
    assert.match(r.aborted ?? '', /checks: rate>0.9/);
    assert.equal(r.thresholds[0]?.ok, false);
    assert.equal(r.thresholds[0]?.aborted, true);
  });

  it('should stop on the signal and still run teardown', async () => {
    resetRuntime();
    const ac = new AbortController();
    let tornDown = false;
    const p = runScript(
      {
        options: { vus: 1, duration: '30s' },
        default: () => sleep(0.01),
        teardown: () => void (tornDown = true),
      },
      { file: 't.ts', signal: ac.signal, log: () => undefined },
    );
    setTimeout(() => ac.abort(), 100);
    const r = await p;
    assert.equal(tornDown, true);
    assert.match(r.aborted ?? '', /signal/);
  });

  it('should remove its abort listeners (no MaxListenersExceededWarning over many arrivals)', async () => {
    resetRuntime();
    const warnings: string[] = [];
    const onWarn = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarn);
    await run({
      options: {
        scenarios: {
          a: { executor: 'constant-arrival-rate', rate: 2000, duration: '500ms', preAllocatedVUs: 5 },
        },
      },
      default: () => sleep(0.001),
    });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarn);
    assert.deepEqual(
      warnings.filter((w) => w === 'MaxListenersExceededWarning'),
      [],
    );
  });
});
