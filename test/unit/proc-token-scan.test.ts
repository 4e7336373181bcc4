import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { carriesToken, isAlive, pidsWithToken, processStartTime, TOKEN_ENV } from '../../src/core/proc.ts';

/** A child started with `env` (its exit awaited and its pid checked gone by `stop`). */
function started(argv: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; stop: () => Promise<void> } {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  return {
    child,
    stop: async () => {
      const id = { pid: child.pid!, startTime: processStartTime(child.pid!) ?? '' };
      child.kill('SIGKILL');
      await exited;
      assert.equal(isAlive(id), false, 'the test process is gone');
    },
  };
}

describe('token scan (/proc/<pid>/environ)', () => {
  it('should find a process that execs in a tight loop in every read (mid-exec its environ reads empty)', async () => {
    // One pid that execs sh again and again: between mapping its new image and filling in the
    // environment pointers its environ reads empty (about 1 read in 20 here). A single read missed
    // it ~1 in 250 times; re-reading 200 times without waiting (fbbcbe6) ~1 in 10 000.
    const token = `tscan-${process.pid}`;
    const loop = 'exec sh -c "$1" sh "$1"';
    const p = started(['sh', '-c', loop, 'sh', loop], { ...process.env, [TOKEN_ENV]: token });
    try {
      const pid = p.child.pid!;
      let missed = 0;
      for (let i = 0; i < 30_000; i++) if (!carriesToken(pid, token)) missed++;
      assert.equal(missed, 0, 'reads that took the exec-ing process for token-less (of 30 000)');
      for (let i = 0; i < 20; i++) assert.deepEqual(pidsWithToken(token), [pid], `scan ${i}`);
    } finally {
      await p.stop();
    }
  });

  it('should take a process with an empty environment, and one with another token, for token-less', async () => {
    const token = `tscan-${process.pid}`;
    const empty = started(['env', '-i', 'sleep', '30'], { ...process.env, [TOKEN_ENV]: token });
    const other = started(['sleep', '30'], { ...process.env, [TOKEN_ENV]: `${token}x` });
    const sub = started(['sleep', '30'], { ...process.env, [TOKEN_ENV]: `${token}.edge-1` });
    try {
      const cmd = (): string => readFileSync(`/proc/${empty.child.pid!}/cmdline`, 'latin1');
      for (let i = 0; i < 500 && !cmd().startsWith('sleep'); i++) await new Promise((r) => setTimeout(r, 5));
      assert.match(cmd(), /^sleep\0/, 'env -i has exec-ed sleep');
      assert.equal(carriesToken(empty.child.pid!, token), false, 'empty environment');
      assert.equal(carriesToken(other.child.pid!, token), false, 'a token that only starts the same');
      assert.equal(carriesToken(sub.child.pid!, token), true, 'a sub-token (token.node)');
      assert.deepEqual(pidsWithToken(token), [sub.child.pid]);
    } finally {
      await Promise.all([empty.stop(), other.stop(), sub.stop()]);
    }
  });
});
