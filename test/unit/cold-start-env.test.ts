import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NodeSpawnOptions } from '../../faults/capabilities.ts';
import type { StackManifest } from '../../src/stack/manifest.ts';
import { processColdStarts } from '../../src/targets/campaign-port.ts';
import type { Deployment } from '../../src/targets/types.ts';

/**
 * Issue 20: cold starts passed the stack's env as `env K=V` arguments (readable by any local user in
 * /proc/<pid>/cmdline). The node shell must get the stack's command unchanged as argv and the env
 * through `env` (the shells pass it through the environment; see env-not-argv.test.ts). The fake
 * shell "starts" the agent by answering its health URL on the address and port it was given.
 */
describe('process cold starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-coldenv-'));
  process.env['EDGECHAOS_STATE_DIR'] = join(dir, 'state');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("should give the shell the stack's command as argv and its env through the environment only", async () => {
    const spawned: { argv: readonly string[]; env: Readonly<Record<string, string>> | undefined }[] = [];
    const shell = {
      node: 'edge-1',
      async spawn(argv: readonly string[], opts: NodeSpawnOptions) {
        spawned.push({ argv, env: opts.env });
        const [host, port] = (opts.env?.['EDGE_LISTEN'] ?? '').split(':');
        const srv = createServer((_q, r) => r.end('ok'));
        await new Promise<void>((r) => srv.listen(Number(port), host, r));
        const closed = (): Promise<void> => new Promise((r) => srv.close(() => r()));
        return {
          pid: 1,
          exited: new Promise<never>(() => undefined),
          handle: { revert: closed },
        };
      },
    };
    const dep = {
      edges: [{ name: 'edge-1' }],
      node: () => ({ address: '127.0.0.1' }),
      shell: () => shell,
    } as unknown as Deployment;
    const stack = {
      edge: { command: ['/opt/agent', '--verbose'], env: { API_KEY: 'k-s3cret' }, health: '/healthz' },
    } as unknown as StackManifest;
    const samples = await processColdStarts(dep, stack, dir, 2, new AbortController().signal);
    assert.equal(samples.length, 2);
    assert.equal(spawned.length, 2);
    for (const s of spawned) {
      assert.deepEqual(s.argv, ['/opt/agent', '--verbose']);
      assert.equal(s.env?.['API_KEY'], 'k-s3cret');
      assert.ok(!s.argv.some((a) => a.includes('k-s3cret') || a.includes('=')), s.argv.join(' '));
    }
  });
});
