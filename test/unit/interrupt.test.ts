import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listJournals, readJournal } from '../../src/core/cleanup/journal.ts';
import { pidsWithToken } from '../../src/core/proc.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/temp.ts';

/** Lines of a child's stream, as they come. */
function waitForLine(stream: NodeJS.ReadableStream, re: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(
      () => reject(new Error(`no line matching ${re} within ${timeoutMs} ms: ${buf}`)),
      timeoutMs,
    );
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
      const line = buf.split('\n').find((l) => re.test(l));
      if (line) {
        clearTimeout(t);
        resolve(line);
      }
    });
  });
}

describe('Ctrl-C', () => {
  it('should revert everything every open registry holds on a second Ctrl-C, then exit 130', async (t) => {
    using state = tempDir('intr-state');
    using scratchParent = tempDir('intr-scratch');
    const scratch = join(scratchParent.path, 'held');
    const runId = `intr${process.pid}`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/fixtures/interrupt/holder.ts'), runId, scratch],
      { env: { ...process.env, EDGECHAOS_STATE_DIR: state.path }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    t.after(() => {
      // on a failed assertion, leave nothing running (the held group by its token)
      child.kill('SIGKILL');
      for (const p of pidsWithToken(`${runId}-a`)) process.kill(-p, 'SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitForLine(child.stdout, /^READY /, 30_000);
    // What it holds, counted before the interrupts: a live process group, a dir, two journals.
    assert.ok(pidsWithToken(`${runId}-a`).length >= 1, 'the held process group runs');
    assert.ok(existsSync(scratch));
    assert.equal(listJournals(state.path).length, 2);

    child.kill('SIGINT');
    // the graceful path has started (and, in this stand-in, hangs)
    for (let i = 0; i < 200 && !/stopping gracefully/.test(stderr); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /stopping gracefully/);
    child.kill('SIGINT');
    const code = await exited;

    assert.equal(code, 130, stderr);
    // leftovers after the forced path: none
    assert.deepEqual(pidsWithToken(`${runId}-a`), [], 'processes left running');
    assert.equal(existsSync(scratch), false, 'scratch dir left behind');
    const left = listJournals(state.path).flatMap((j) => readJournal(j).pending.map((e) => e.what));
    assert.deepEqual(left, [], 'journal entries left pending');
    assert.deepEqual(
      readdirSync(state.path).filter((f) => f.endsWith('.journal')),
      [],
      'journals left behind',
    );
  });
});
