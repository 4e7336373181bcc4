import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CleanupRegistry, newRunId } from '../../src/core/cleanup/registry.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { docker, dockerdPaths, ensureDockerd } from '../../src/tools/dockerd.ts';
import { useToolsPath } from '../../src/tools/kind-env.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';
import { hostDiff, hostState } from './kind-support.ts';

/**
 * kill -9 of the harness in the middle of a Kind campaign (cluster up, stack deployed, load running),
 * then `edgechaos cleanup`: no Kind cluster, container, network, volume or running dockerd is left,
 * no journal, and the host's settings are as before. The leftovers are counted by starting the
 * private engine again afterwards (its data-root is kept) and listing what it holds.
 */
const scenario = join(repoRoot, 'test/fixtures/scenarios/kind-short.ts');
const cli = join(repoRoot, 'bin/edgechaos.mjs');

function dockerdAlive(): number[] {
  const sock = dockerdPaths().socket;
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
        return cmd.startsWith('dockerd\0') && cmd.includes(sock);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('kill -9 mid Kind campaign, then edgechaos cleanup', () => {
  const dirs = isolatedRunDirs(before, after);

  it('leaves no cluster, container, network, volume, dockerd, journal or host change', async (t) => {
    assert.deepEqual(dockerdAlive(), [], 'the private dockerd is not running before the test');
    const host0 = await hostState();
    const child = spawn('node', [cli, 'run', scenario, '--target', 'kind'], {
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // kill once the load phase reports progress: cluster, images, stack and faults are in place
    const deadline = Date.now() + 600_000;
    while (!/campaign: load \d/.test(out) && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 500));
    assert.equal(child.exitCode, null, `the run ended before the load phase:\n${out.slice(-4000)}`);
    assert.match(out, /campaign: load \d/, out.slice(-4000));
    await new Promise((r) => setTimeout(r, 5000));
    child.kill('SIGKILL');
    await exited;
    const journals = readdirSync(dirs.state);
    assert.ok(journals.length > 0, 'the killed run left its journal');
    const c = await run(['node', cli, 'cleanup'], { allowFailure: true });
    t.diagnostic(c.stdout);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.deepEqual(readdirSync(dirs.state), [], 'no journal left');
    assert.deepEqual(dockerdAlive(), [], 'no dockerd left running');
    assert.equal(existsSync(dockerdPaths().socket), false, 'no dockerd socket left');
    assert.deepEqual(hostDiff(host0, await hostState()), [], 'host settings unchanged');
    // count what the engine still holds: start it again (journaled), list, stop
    const registry = CleanupRegistry.open(newRunId('kind-count'));
    try {
      // without creating the kind network, so a leftover one would show
      await ensureDockerd(registry, { kindNetwork: false });
      useToolsPath();
      const lines = async (args: string[]): Promise<string[]> =>
        (await docker(args)).stdout.split('\n').filter(Boolean);
      assert.deepEqual(await lines(['ps', '-a', '--format', '{{.Names}}']), [], 'containers');
      assert.deepEqual(
        await lines(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}']),
        [],
        'networks',
      );
      assert.deepEqual(await lines(['volume', 'ls', '--format', '{{.Name}}']), [], 'volumes');
      const k = await run(['kind', 'get', 'clusters'], { allowFailure: true });
      assert.equal(k.stdout.trim(), '', `kind clusters: ${k.stdout}`);
    } finally {
      await registry.close();
    }
    assert.deepEqual(dockerdAlive(), []);
  });
});
