import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry, spawnRegistered } from '../../src/core/cleanup/registry.ts';
import { isAlive, pidsWithToken } from '../../src/core/proc.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The process reverter waits on the processes it signalled (their /proc/<pid>/stat), not on
 * repeated scans of every process's environment: it must still catch what it did not see at
 * first, and take SIGKILL to what ignores SIGTERM.
 */
/** Register `argv` under a fresh registry in `dir`, and wait until `n` processes carry its token. */
async function spawnCounted(dir: string, id: string, name: string, argv: string[], n: number) {
  const reg = CleanupRegistry.open(`${id}-${process.pid}`, dir);
  const { proc, handle } = await spawnRegistered(reg, name, argv, { logFile: join(dir, 'p.log') });
  for (let i = 0; i < 200 && pidsWithToken(reg.runId).length < n; i++)
    await new Promise((r) => setTimeout(r, 5));
  return { reg, proc, handle };
}

/** Revert the process, then nothing carries the token and the process itself is gone. */
async function revertGone({ reg, proc, handle }: Awaited<ReturnType<typeof spawnCounted>>): Promise<void> {
  await handle.revert();
  assert.deepEqual(pidsWithToken(reg.runId), []);
  assert.equal(isAlive(proc.identity), false);
  await reg.close();
}

describe('process revert', () => {
  it('should end a registered process and its children, leaving no process with the token', async () => {
    using dir = tempDir('revert-proc');
    const p = await spawnCounted(dir.path, 'rp1', 'sleeper', ['sh', '-c', 'sleep 30 & sleep 30 & wait'], 3);
    assert.equal(pidsWithToken(p.reg.runId).length, 3, 'the shell and its two children carry the token');
    await revertGone(p);
  });

  it('should SIGKILL a process that ignores SIGTERM', async () => {
    using dir = tempDir('revert-proc');
    const p = await spawnCounted(
      dir.path,
      'rp2',
      'stubborn',
      ['sh', '-c', "trap '' TERM; while :; do sleep 0.01; done"],
      1,
    );
    await revertGone(p);
  });
});
