import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkImageSize } from '../../src/checks/image.ts';
import { CleanupRegistry, newRunId } from '../../src/core/cleanup/registry.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { imageConfig } from '../../src/images/archive.ts';
import { loadStack, type StackManifest } from '../../src/stack/manifest.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';
import { LocalTarget } from '../../src/targets/local/target.ts';
import { which } from '../../src/tools/find.ts';
import { runcRoot } from '../../src/targets/local/oci/runtime.ts';
import { tempDir } from '../helpers/temp.ts';
import { ownDirsEnv } from '../helpers/cli.ts';
import { cli, ociTraces } from './oci-helpers.ts';

const fixtures = join(repoRoot, 'test/fixtures/images');
const stackFile = (name: string): string => join(fixtures, `${name}.stack.ts`);

/** Build the broken images (idempotent); a missing tool fails with its install hint. */
function buildFixtures(): void {
  for (const t of ['runc', 'crane'])
    assert.ok(which(t), `${t} is missing: run scripts/bootstrap (runc: apt-get install -y runc)`);
  assert.ok(existsSync('/bin/busybox'), '/bin/busybox is missing: apt-get install -y busybox-static');
  execFileSync('bash', [join(fixtures, 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Deploy `stack` with one edge and return what the deploy left (runId from the reports dir). */
async function deployFails(
  name: string,
): Promise<{ code: number | null; err: string; runIds: string[]; dir: { path: string } & Disposable }> {
  const dir = tempDir(`oci-fixture-${name}`);
  const env = ownDirsEnv(dir.path);
  const r = await cli(['deploy', '--nodes', '1', '--stack', stackFile(name), '--json'], env);
  const reports = join(dir.path, 'reports');
  return { code: r.code, err: r.err, runIds: existsSync(reports) ? readdirSync(reports) : [], dir };
}

describe('broken images fail the right check, with evidence', () => {
  before(buildFixtures);

  it('missing entrypoint: a usage error naming the image and the path, before any stack starts; nothing left', async () => {
    const r = await deployFails('missing-entrypoint');
    using _ = r.dir;
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /missing-entrypoint-amd64\.tar: field config\.Entrypoint: entrypoint \/edge-agent does not exist in the image/,
    );
    for (const id of r.runIds) assert.deepEqual(ociTraces(id), []);
  });

  it('data dir the image user cannot write: start-up fails with the reason from the agent; nothing left', async () => {
    const r = await deployFails('data-unwritable');
    using _ = r.dir;
    assert.equal(r.code, 3, r.err);
    assert.match(
      r.err,
      /container \(image .*data-unwritable-amd64\.tar\) exited \(1\) before it was healthy: .*permission denied/,
    );
    for (const id of r.runIds) assert.deepEqual(ociTraces(id), []);
  });

  it('fat image: the image-size check fails where the reference passes; uncompressed size and layer count reported', async () => {
    const fat = await loadStack(stackFile('fat'));
    const ref = await loadStack();
    const limit = 10e6; // the scenario default (src/campaign/scenario.ts)
    const bad = checkImageSize(fat.images, limit);
    const good = checkImageSize(ref.images, limit);
    assert.equal(bad.status, 'failed', bad.summary);
    assert.equal(good.status, 'passed', good.summary);
    const cfg = imageConfig(fat.images['edge-agent']!);
    assert.equal(cfg.layerCount, 2);
    assert.ok(cfg.uncompressedBytes > 40 * 2 ** 20, `uncompressed ${cfg.uncompressedBytes}`);
    assert.ok(cfg.compressedBytes > 40e6, 'random bytes do not compress');
  });

  describe('an entrypoint that does not forward SIGTERM', () => {
    const state = tempDir('oci-sigterm-state');
    const prev = process.env['EDGECHAOS_STATE_DIR'];
    before(() => (process.env['EDGECHAOS_STATE_DIR'] = state.path));
    after(() => {
      if (prev === undefined) delete process.env['EDGECHAOS_STATE_DIR'];
      else process.env['EDGECHAOS_STATE_DIR'] = prev;
      state[Symbol.dispose]();
    });

    /** Stop edge-1 with SIGTERM and a 2 s grace: how it ended (exit code of the container). */
    async function stopOnce(stack: StackManifest): Promise<{ killed: boolean; how: string; runId: string }> {
      using dir = tempDir('oci-sigterm');
      const runId = newRunId('ocisig');
      await using reg = CleanupRegistry.open(runId);
      const dep: LocalDeployment = await new LocalTarget().deploy(
        stack,
        { edges: [{ name: 'edge-1', profile: 'x86-edge' }] },
        { runId, runDir: dir.path, registry: reg },
      );
      try {
        await dep.stopStack('edge-1', { signal: 'SIGTERM', graceMs: 2000 });
        for (let i = 0; i < 100 && !dep.exits().some((e) => e.node === 'edge-1'); i++)
          await new Promise((r) => setTimeout(r, 20));
        const e = dep.exits().find((x) => x.node === 'edge-1');
        assert.ok(e, 'the container exit was seen');
        // runc exits 137 when its container is SIGKILLed, or dies by SIGKILL itself with it
        return {
          killed: e.code === 137 || e.signal === 'SIGKILL',
          how: `code ${e.code} signal ${e.signal}`,
          runId,
        };
      } finally {
        await dep.teardown();
      }
    }

    it('is killed after the grace (exit 137) where the reference image shuts down on SIGTERM by itself', async () => {
      const bad = await stopOnce(await loadStack(stackFile('nosigterm')));
      const good = await stopOnce(await loadStack());
      assert.equal(
        bad.killed,
        true,
        `SIGKILLed after the grace: SIGTERM was swallowed by the shell entrypoint (${bad.how})`,
      );
      assert.equal(good.killed, false, `the reference agent exits on SIGTERM within the grace (${good.how})`);
      for (const id of [bad.runId, good.runId]) assert.deepEqual(ociTraces(id), []);
    });
  });
});

describe('OOM kills inside the board limit', () => {
  before(buildFixtures);

  it('should count an OOM kill of a container process in the node stats (cgroup v1 counts it in the child memcg only)', async () => {
    using dir = tempDir('oci-oom');
    using state = tempDir('oci-oom-state');
    const prev = process.env['EDGECHAOS_STATE_DIR'];
    process.env['EDGECHAOS_STATE_DIR'] = state.path;
    const runId = newRunId('ocioom');
    try {
      await using reg = CleanupRegistry.open(runId);
      // the busybox image, so a shell can allocate inside the running container
      const dep: LocalDeployment = await new LocalTarget().deploy(
        await loadStack(stackFile('nosigterm')),
        { edges: [{ name: 'edge-1', profile: 'custom:cpus=1,memory=48MiB' }] },
        { runId, runDir: dir.path, registry: reg },
      );
      try {
        const before = (await dep.stats('edge-1')).oomKills;
        const id = dep.local('edge-1').oci!.id;
        // `runc exec` joins the container's cgroup: a 96 MiB buffer over a 48 MiB board limit
        const r = spawnSync(which('runc')!, [
          '--root',
          runcRoot,
          'exec',
          id,
          '/bin/busybox',
          'dd',
          'if=/dev/zero',
          'of=/dev/null',
          'bs=96M',
          'count=1',
        ]);
        assert.equal(r.status ?? 128 + 9, 137, `dd was OOM-killed: ${String(r.stderr)}`);
        const after = (await dep.stats('edge-1')).oomKills;
        assert.equal(after - before, 1, 'one OOM kill reported for the node');
      } finally {
        await dep.teardown();
      }
    } finally {
      if (prev === undefined) delete process.env['EDGECHAOS_STATE_DIR'];
      else process.env['EDGECHAOS_STATE_DIR'] = prev;
    }
    assert.deepEqual(ociTraces(runId), []);
  });
});
