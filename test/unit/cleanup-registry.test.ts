import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { readJournal } from '../../src/core/cleanup/journal.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { registerReverter } from '../../src/core/cleanup/reverters.ts';
import { sweep } from '../../src/core/cleanup/sweep.ts';
import { FaultRevertError } from '../../src/core/errors.ts';
import { tempDir } from '../helpers/temp.ts';

// A fake resource kind: pure bookkeeping, so the registry logic is tested without root.
const applied = new Set<string>();
registerReverter('test-thing', async (d) => {
  const name = String(d['name']);
  applied.delete(name);
  return Promise.resolve();
});

function apply(reg: CleanupRegistry, name: string) {
  const h = reg.add('test-thing', `thing ${name}`, { name });
  applied.add(name);
  return h;
}

describe('cleanup registry', () => {
  it('should journal an entry before the effect and remove the journal once all is reverted', async () => {
    using dir = tempDir('reg');
    const reg = CleanupRegistry.open('r1', dir.path);
    apply(reg, 'a');
    const st = readJournal(reg.journalPath);
    assert.deepEqual(
      st.pending.map((e) => e.data['name']),
      ['a'],
    );
    assert.equal(st.owner?.pid, process.pid);
    await reg.close();
    assert.equal(applied.has('a'), false);
    assert.equal(existsSync(reg.journalPath), false);
  });

  it('should revert last-applied first and keep going past a failing revert', async () => {
    using dir = tempDir('reg');
    const reg = CleanupRegistry.open('r2', dir.path);
    const order: string[] = [];
    registerReverter('test-ordered', async (d) => {
      order.push(String(d['name']));
      if (d['name'] === 'middle') throw new Error('boom');
      return Promise.resolve();
    });
    for (const n of ['first', 'middle', 'last']) reg.add('test-ordered', n, { name: n });
    await assert.rejects(reg.close(), FaultRevertError);
    assert.deepEqual(order, ['last', 'middle', 'first']);
    // The failed one stays in the journal for `edgechaos cleanup`.
    assert.deepEqual(
      readJournal(reg.journalPath).pending.map((e) => e.what),
      ['middle'],
    );
  });

  it('should make revert idempotent and share concurrent attempts', async () => {
    using dir = tempDir('reg');
    const reg = CleanupRegistry.open('r3', dir.path);
    let calls = 0;
    registerReverter('test-count', async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 10));
    });
    const h = reg.add('test-count', 'counted', {});
    await Promise.all([h.revert(), h.revert(), reg.revert(h.id)]);
    await h.revert();
    assert.equal(calls, 1);
    await reg.close();
  });

  it('should refuse a kind it cannot revert before anything is applied', () => {
    using dir = tempDir('reg');
    const reg = CleanupRegistry.open('r4', dir.path);
    assert.throws(() => reg.add('no-such-kind', 'x', {}), /no reverter/);
    assert.equal(reg.pending().length, 0);
  });

  it('should replay a journal with a torn last line, and sweep it', async () => {
    using dir = tempDir('reg');
    const reg = CleanupRegistry.open('r5', dir.path);
    apply(reg, 'x');
    apply(reg, 'y');
    await reg.revert('1');
    // simulate a crash mid-write
    appendFileSync(reg.journalPath, '{"op":"add","entry":{"id":"9"');
    assert.deepEqual(
      readJournal(reg.journalPath).pending.map((e) => e.data['name']),
      ['y'],
    );
    const rep = await sweep({ dir: dir.path, force: true });
    assert.deepEqual(rep.runs[0]?.reverted, ['thing y']);
    assert.equal(applied.has('y'), false);
    assert.equal(existsSync(reg.journalPath), false);
  });

  it('should skip a journal whose owner is alive unless forced', async () => {
    using dir = tempDir('reg');
    const reg = CleanupRegistry.open('r6', dir.path);
    apply(reg, 'live');
    // the owner is this very process: sweep() treats its own runs as revertable, so fake a foreign live owner
    const text = readFileSync(reg.journalPath, 'utf8').replace(`"pid":${process.pid}`, `"pid":1`);
    const { writeFileSync } = await import('node:fs');
    const { processStartTime } = await import('../../src/core/proc.ts');
    writeFileSync(reg.journalPath, text.replace(/"startTime":"\d+"/, `"startTime":"${processStartTime(1)}"`));
    const rep = await sweep({ dir: dir.path });
    assert.match(rep.runs[0]?.skipped ?? '', /still running/);
    assert.equal(applied.has('live'), true);
    const forced = await sweep({ dir: dir.path, force: true });
    assert.deepEqual(forced.runs[0]?.reverted, ['thing live']);
  });
});
