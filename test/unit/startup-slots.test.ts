import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, startSlots } from '../../src/targets/local/oci/startup.ts';

describe('start-up sampling plan', () => {
  it('takes the warm-up starts first and scores only the samples after them', () => {
    const slots = startSlots(3, 1, 17100);
    assert.deepEqual(slots, [
      { i: 0, port: 17100, keep: false },
      { i: 1, port: 17101, keep: true },
      { i: 2, port: 17102, keep: true },
      { i: 3, port: 17103, keep: true },
    ]);
    assert.equal(slots.filter((s) => s.keep).length, 3);
  });

  it('without warm-up every start is scored, each on its own port', () => {
    const slots = startSlots(15, 0, 17100);
    assert.ok(slots.every((s) => s.keep));
    assert.equal(new Set(slots.map((s) => s.port)).size, 15);
  });

  it('a discarded slow first start does not move the scored median', () => {
    const measured = [900, 120, 110, 130];
    const kept = startSlots(3, 1, 0).flatMap((s) => (s.keep ? [measured[s.i]!] : []));
    assert.equal(median(kept), 120);
    assert.equal(median(measured), 125);
  });

  it('refuses a negative or fractional count', () => {
    assert.throws(() => startSlots(-1, 0, 0), RangeError);
    assert.throws(() => startSlots(3, 0.5, 0), RangeError);
  });
});
