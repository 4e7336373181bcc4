import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sleep } from '../../src/core/deadline.ts';
import { acquireFileLock } from '../../src/core/file-lock.ts';
import { tempDir } from '../helpers/temp.ts';

describe('file lock between edgechaos processes', () => {
  it('should let one holder in at a time, in turn', async () => {
    using dir = tempDir('lock');
    const file = join(dir.path, 'x.lock');
    const order: string[] = [];
    const holder = async (name: string): Promise<void> => {
      const release = await acquireFileLock(file);
      order.push(`${name}+`);
      await sleep(30);
      order.push(`${name}-`);
      release();
    };
    await Promise.all([holder('a'), holder('b'), holder('c')]);
    for (let i = 0; i < order.length; i += 2)
      assert.equal(order[i]!.slice(0, 1), order[i + 1]!.slice(0, 1), order.join(' '));
    assert.equal(existsSync(file), false, 'released');
  });

  it('should take over a lock whose owner died (kill -9)', async () => {
    using dir = tempDir('lock');
    const file = join(dir.path, 'x.lock');
    const dead = spawnSync('true').pid; // exited already
    writeFileSync(file, String(dead));
    const release = await acquireFileLock(file, { timeoutMs: 1000 });
    release();
  });

  it('should time out, naming the holder, while a live owner holds it', async () => {
    using dir = tempDir('lock');
    const file = join(dir.path, 'x.lock');
    writeFileSync(file, String(process.ppid));
    await assert.rejects(
      acquireFileLock(file, { timeoutMs: 100 }),
      new RegExp(`held by pid ${process.ppid}`),
    );
  });
});
