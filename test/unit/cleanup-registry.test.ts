import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Journal, readJournal } from '../../src/core/cleanup/journal.ts';
import { startKeeper } from '../../src/core/cleanup/keeper.ts';
import { isAlive } from '../../src/core/proc.ts';
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

  it("should judge a deployment's liveness by its keeper, then revert it and remove its state file", async () => {
    using dir = tempDir('keeper');
    // a deployment as `deploy` leaves it: resources journaled, a state file naming the journal
    const reg = CleanupRegistry.open('dep-k1', dir.path);
    apply(reg, 'deployed');
    mkdirSync(join(dir.path, 'deployments'));
    const stateFile = join(dir.path, 'deployments', 'dep-k1.json');
    writeFileSync(stateFile, JSON.stringify({ runId: 'dep-k1', journal: reg.journalPath }));
    const keeper = startKeeper(stateFile);
    Journal.create(dir.path, 'dep-k1', keeper).close(false);
    try {
      // the keeper lives: spared, whatever else of the deployment died
      const spared = await sweep({ dir: dir.path });
      assert.match(spared.runs[0]?.skipped ?? '', new RegExp(`pid ${keeper.pid}\\) is still running`));
      assert.equal(applied.has('deployed'), true);
      assert.equal(existsSync(stateFile), true);
      // the keeper is gone (kill -9, reboot): reverted, journal and state file removed
      process.kill(keeper.pid, 'SIGKILL');
      for (let i = 0; i < 100 && isAlive(keeper); i++) await new Promise((r) => setTimeout(r, 20));
      const rep = await sweep({ dir: dir.path });
      assert.deepEqual(rep.runs[0]?.reverted, ['thing deployed']);
      assert.equal(applied.has('deployed'), false);
      assert.equal(existsSync(reg.journalPath), false);
      assert.deepEqual(rep.removedStateFiles, [stateFile]);
      assert.equal(existsSync(stateFile), false);
    } finally {
      try {
        process.kill(keeper.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('should remove a state file whose deployment is gone, and keep one whose journal exists', async () => {
    using dir = tempDir('orphan');
    mkdirSync(join(dir.path, 'deployments'));
    const orphan = join(dir.path, 'deployments', 'dep-gone.json');
    writeFileSync(orphan, JSON.stringify({ runId: 'dep-gone', journal: join(dir.path, 'dep-gone.journal') }));
    const live = join(dir.path, 'deployments', 'dep-live.json');
    writeFileSync(live, JSON.stringify({ runId: 'dep-live', journal: join(dir.path, 'dep-live.journal') }));
    writeFileSync(join(dir.path, 'dep-live.journal'), '');
    const rep = await sweep({ dir: dir.path, runId: 'none' });
    assert.deepEqual(rep.removedStateFiles, [orphan]);
    assert.equal(existsSync(orphan), false);
    assert.equal(existsSync(live), true);
  });
});
