import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resetRuntime, runScript } from '../../src/load/engine.ts';
import exec from '../../src/load/k6/execution.ts';
import { sleep } from '../../src/load/k6/index.ts';
import { segmentsOf, type Segment } from '../../src/load/segment.ts';
import type { LoadScript } from '../../src/load/types.ts';

/** What one run did, per scenario: its iterations' indices in the test and the VUs it used. */
type Seen = Map<string, { iters: number[]; vus: Set<number> }>;

/** One scenario of every executor; iterations are quick, so the arrival-rate ones drop nothing. */
function script(seen: Seen): LoadScript {
  const note = (): void => {
    const name = exec.scenario.name;
    const s = seen.get(name) ?? { iters: [], vus: new Set<number>() };
    seen.set(name, s);
    s.iters.push(exec.scenario.iterationInTest);
    s.vus.add(__VU);
  };
  return {
    options: {
      scenarios: {
        si: { executor: 'shared-iterations', vus: 4, iterations: 23, exec: 'f' },
        pv: { executor: 'per-vu-iterations', vus: 5, iterations: 3, exec: 'f' },
        cv: { executor: 'constant-vus', vus: 7, duration: '150ms', exec: 'slow' },
        rv: {
          executor: 'ramping-vus',
          startVUs: 0,
          stages: [
            { duration: '100ms', target: 5 },
            { duration: '100ms', target: 5 },
          ],
          exec: 'slow',
        },
        ca: {
          executor: 'constant-arrival-rate',
          rate: 200,
          timeUnit: '1s',
          duration: '300ms',
          preAllocatedVUs: 3,
          maxVUs: 30,
          exec: 'f',
        },
        ra: {
          executor: 'ramping-arrival-rate',
          startRate: 0,
          timeUnit: '1s',
          preAllocatedVUs: 3,
          maxVUs: 30,
          stages: [{ duration: '300ms', target: 400 }],
          exec: 'f',
        },
      },
    },
    f: note,
    slow: async () => {
      note();
      await sleep(0.01);
    },
  };
}

async function run(segment?: Segment): Promise<{ seen: Seen; dropped: number }> {
  resetRuntime();
  const seen: Seen = new Map();
  const res = await runScript(script(seen), {
    file: 'test.ts',
    log: () => undefined,
    ...(segment ? { segment } : {}),
  });
  return { seen, dropped: res.droppedIterations };
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

describe('execution segments in the engine (--execution-segment, --load-replicas)', () => {
  it('should run, over N segments, exactly the unsegmented test with iteration ids unique across segments', async () => {
    const whole = await run();
    const parts: { seen: Seen; dropped: number }[] = [];
    for (const seg of segmentsOf(3)) parts.push(await run(seg));
    assert.equal(whole.dropped + parts.reduce((a, p) => a + p.dropped, 0), 0, 'nothing dropped');
    const all = (name: string): number[] => parts.flatMap((p) => p.seen.get(name)?.iters ?? []);
    const vus = (name: string): number => parts.reduce((a, p) => a + (p.seen.get(name)?.vus.size ?? 0), 0);
    // iteration-count executors: the same number of iterations
    assert.equal(all('si').length, 23);
    assert.equal(all('pv').length, 15);
    // VU executors: the same VUs, split
    assert.equal(vus('cv'), 7);
    assert.equal(vus('rv'), 5);
    assert.equal(vus('pv'), 5);
    // arrival-rate executors: exactly the same arrivals (their global indices)
    for (const name of ['ca', 'ra']) {
      const w = sorted(whole.seen.get(name)!.iters);
      assert.ok(w.length > 20, `${name}: ${w.length} arrivals`);
      assert.deepEqual(sorted(all(name)), w, name);
    }
    // no index twice over the segments, in any scenario (write ids are built from it)
    for (const name of ['si', 'pv', 'cv', 'rv', 'ca', 'ra'])
      assert.equal(new Set(all(name)).size, all(name).length, `${name}: duplicate iterationInTest`);
  });
});
