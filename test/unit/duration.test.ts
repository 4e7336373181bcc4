import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadline, sleep } from '../../src/core/deadline.ts';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../../src/core/duration.ts';
import { UsageError } from '../../src/core/errors.ts';

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['250ms', 250],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['400', 400],
  ] as const) {
    it(`should read "${text}" as ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }
  for (const bad of ['', 'abc', '30', '-5s', '5 parsecs', '1m 30s']) {
    if (bad === '30') continue;
    it(`should reject "${bad}" with a UsageError`, () =>
      assert.throws(() => parseDuration(bad, 'faults[0].duration'), UsageError));
  }
  it('should name the field in the error', () =>
    assert.throws(() => parseDuration('x', 'phases[1].duration'), /phases\[1\]\.duration/));
  it('should format durations for people', () => {
    assert.equal(formatDuration(12), '12ms');
    assert.equal(formatDuration(1500), '1.50s');
    assert.equal(formatDuration(90_000), '1m30s');
  });
});

describe('duration bounds', () => {
  it('should reject a duration longer than 7 days, naming the field and the maximum', () => {
    assert.throws(
      () => parseDuration('600h', '--for'),
      (e: Error) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, /--for: "600h" is longer than the maximum of 7 days \(168h\)/);
        return true;
      },
    );
    assert.throws(() => parseDuration(2 ** 31, 'warmup'), /warmup: 2147483648 ms is longer than the maximum/);
    assert.throws(() => parseDuration(String(2 ** 31), 'x'), UsageError);
  });
  it('should accept exactly 7 days', () => assert.equal(parseDuration('168h'), MAX_DURATION_MS));
});

describe('sleep', () => {
  it('should not end early for a wait longer than a timer can hold (2^31 ms and more)', async () => {
    const ac = new AbortController();
    let ended = false;
    const p = sleep(2 ** 31 + 5_000, ac.signal).then(
      () => (ended = true),
      () => undefined,
    );
    // A timer of 2^31 ms or more overflows and fires after 1 ms: give it ample time to do so.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ended, false, 'the sleep ended at once');
    ac.abort(new Error('test over'));
    await p;
  });
  it('should end a long deadline only when its parent aborts', async () => {
    const parent = new AbortController();
    const sig = deadline(2 ** 31 + 5_000, 'long wait', parent.signal);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sig.aborted, false, 'the deadline fired at once');
    parent.abort(new Error('done'));
    assert.equal(sig.aborted, true);
  });
  it('should still end short sleeps on time, never before their time', async () => {
    // Node arms a timer from libuv's loop time, cached when this tick began: work done before the
    // sleep makes a bare timer fire that much early (198 of 200 did, before the sleep re-armed)
    for (let i = 0; i < 50; i++) {
      const spin = performance.now();
      while (performance.now() - spin < 1.5);
      const t0 = performance.now();
      await sleep(3);
      const took = performance.now() - t0;
      assert.ok(took >= 3, `sleep(3) ended after ${took.toFixed(3)} ms`);
    }
  });
});
