import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { tempDir } from '../helpers/temp.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function netnsExists(name: string): Promise<boolean> {
  const r = await run(['ip', 'netns', 'list']);
  return r.stdout.split('\n').some((l) => l.split(' ')[0] === name);
}

describe('edgechaos cleanup after kill -9 of the harness', () => {
  it('should remove the toxiproxy server, its proxy and the network namespace a killed harness held', async () => {
    using state = tempDir('state');
    const runId = `ectest${process.pid}`;
    const env = { ...process.env, EDGECHAOS_STATE_DIR: state.path };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/fixtures/resource-holder.ts'), runId],
      { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let info: { toxiproxyPid: number; api: string; ns: string; proxyPort: number } | undefined;
    try {
      info = await new Promise((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /READY (.*)\n/.exec(buf);
          if (m) resolve(JSON.parse(m[1]!) as typeof info);
        });
        child.on('exit', (c) => reject(new Error(`holder exited early (${c})`)));
        setTimeout(() => reject(new Error('holder not ready in 20 s')), 20_000).unref();
      });
      assert.ok(info);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // The harness is gone; what it applied is still there.
      assert.equal(alive(info.toxiproxyPid), true, 'toxiproxy outlived the harness');
      assert.equal(await netnsExists(info.ns), true, 'netns outlived the harness');
      const proxies = (await (await fetch(`${info.api}/proxies`)).json()) as Record<string, unknown>;
      assert.ok(proxies['held'], 'proxy outlived the harness');

      const res = await run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), 'cleanup', '--json'], {
        env,
        cwd: repoRoot,
      });
      const rep = JSON.parse(res.stdout) as {
        runs: { runId: string; reverted: string[]; failed: unknown[] }[];
      };
      const mine = rep.runs.find((r) => r.runId === runId);
      assert.ok(mine, 'cleanup found the run');
      assert.deepEqual(mine.failed, []);
      assert.equal(mine.reverted.length, 3);
      assert.equal(await netnsExists(info.ns), false, 'netns removed');
      for (let i = 0; i < 40 && alive(info.toxiproxyPid); i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(info.toxiproxyPid), false, 'toxiproxy killed');
      assert.deepEqual(
        readdirSync(state.path).filter((f) => f.endsWith('.journal')),
        [],
        'journal removed once everything was reverted',
      );
      const again = await run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), 'cleanup'], {
        env,
        cwd: repoRoot,
      });
      assert.match(again.stdout, /nothing to clean up/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (info) {
        await run(['ip', 'netns', 'delete', info.ns], { allowFailure: true });
        if (alive(info.toxiproxyPid)) process.kill(info.toxiproxyPid, 'SIGKILL');
      }
    }
  });
});
