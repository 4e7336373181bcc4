import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { deadline, waitFor } from '../../src/core/deadline.ts';
import { NetnsShell } from '../../src/targets/local/shell.ts';
import type { LocalNodeState } from '../../src/targets/local/topology-plan.ts';

/**
 * Issue 20: the cold starts passed the stack's env as `env K=V` arguments, readable by any local user
 * in /proc/<pid>/cmdline. A process spawned on a node (the cold starts' path on the local target)
 * gets its env through the environment only: the value is in /proc/<pid>/environ (root-only), never
 * in its command line, nor in the cleanup journal.
 */
describe('a stack env reaches a node process through the environment, never its argv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-envargv-'));
  const netns = `ec-envargv-${process.pid}`;
  before(() => execFileSync('ip', ['netns', 'add', netns]));
  after(() => {
    execFileSync('ip', ['netns', 'delete', netns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('should keep the value out of /proc/<pid>/cmdline and the journal', async () => {
    const secret = `s3cret-${process.pid}-${Date.now()}`;
    await using reg = CleanupRegistry.open(`envargv${process.pid}`, join(dir, 'state'));
    const shell = new NetnsShell({ name: 'edge-1', netns } as LocalNodeState, join(dir, 'run'));
    const p = await shell.spawn(['sleep', '30'], {
      env: { EDGE_TOKEN_SECRET: secret },
      what: 'env test',
      registry: reg,
      logName: 'env-test',
    });
    try {
      // `ip netns exec` execs the command in the same process: read /proc once that exec is done.
      // Read during it, environ is empty (the old image is gone, the new one not set up): CI saw
      // "the env reached the process" fail 36 ms into the test.
      const cmdline = await waitFor(
        () => {
          const c = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
          return Promise.resolve(c.startsWith('sleep\0') ? c : undefined);
        },
        { signal: deadline(10_000, `pid ${p.pid} to exec sleep`), intervalMs: 5 },
      );
      const environ = readFileSync(`/proc/${p.pid}/environ`, 'utf8');
      assert.ok(environ.includes(`EDGE_TOKEN_SECRET=${secret}`), 'the env reached the process');
      assert.ok(!cmdline.includes(secret), `the value is on the command line: ${cmdline}`);
      for (const f of readdirSync(join(dir, 'state')))
        assert.ok(!readFileSync(join(dir, 'state', f), 'utf8').includes(secret), `the value is in ${f}`);
    } finally {
      await p.handle.revert();
    }
  });
});
