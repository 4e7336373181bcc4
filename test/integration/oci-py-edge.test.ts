import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { checkImageSize } from '../../src/checks/image.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { imageConfig } from '../../src/images/archive.ts';
import { loadStack } from '../../src/stack/manifest.ts';
import { containerState } from '../../src/targets/local/oci/runtime.ts';
import { which } from '../../src/tools/find.ts';
import { tempDir } from '../helpers/temp.ts';
import { deployed, ownDirsEnv } from '../helpers/cli.ts';
import { cli, ociTraces } from './oci-helpers.ts';

const pyStack = join(repoRoot, 'stack/py-edge/py-edge.stack.ts');

describe('py-edge: a non-Go reference-contract stack as an image', () => {
  before(() => {
    for (const t of ['runc', 'crane', 'mmdebstrap'])
      assert.ok(which(t), `${t} is missing: run scripts/bootstrap (apt-get install -y runc mmdebstrap)`);
    execFileSync('bash', [join(repoRoot, 'stack/py-edge/build.sh')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  });

  it('should pass the conformance suite (12 behaviours, incl. kill -9 durability)', async () => {
    using dir = tempDir('py-conform');
    const r = await cli(['conform', '--stack', pyStack, '--json'], {
      EDGECHAOS_STATE_DIR: dir.path,
      EDGECHAOS_LOG: 'warn',
    });
    assert.equal(r.code, 0, r.err + r.out);
    const rep = JSON.parse(r.out) as { cases: { id: string; status: string }[]; passed: number };
    assert.deepEqual(
      rep.cases.filter((x) => x.status !== 'passed'),
      [],
    );
    assert.equal(rep.passed, 12);
  });

  it('should run as a container (interpreter, shell entrypoint, non-root user), answer the contract, and leave nothing', async () => {
    using dir = tempDir('py-deploy');
    const env = ownDirsEnv(dir.path);
    const info = await deployed(['--nodes', '1', '--stack', pyStack], env);
    try {
      const st = await containerState(`ec-${info.runId}-edge-1`);
      assert.equal(st?.status, 'running');
      const status = readFileSync(`/proc/${st.pid}/status`, 'utf8');
      assert.match(status, /^Name:\s+python3/m, 'the shell entrypoint exec-ed the interpreter as the init');
      assert.match(status, /^Uid:\s+10001\s/m, 'the image user (edge)');
      const edge = info.nodes.find((n) => n.name === 'edge-1')!;
      const c = await cli(['conform', '--edge', edge.url, '--hub', info.hub, '--json'], env);
      assert.equal(c.code, 0, c.err + c.out);
      const rep = JSON.parse(c.out) as {
        cases: { id: string; status: string }[];
        passed: number;
        failed: number;
      };
      assert.equal(rep.failed, 0, JSON.stringify(rep.cases));
      assert.equal(rep.passed, 10, 'every behaviour a running stack can show (kill -9 ones need --stack)');
    } finally {
      const x = await cli(['destroy', '--run', info.runId], env);
      assert.equal(x.code, 0, x.err);
    }
    assert.deepEqual(ociTraces(info.runId), []);
  });

  it('should weigh more than the Go stack for the right reasons: an interpreter and its stdlib in more layers', async () => {
    const py = await loadStack(pyStack);
    const go = await loadStack();
    const pyCfg = imageConfig(py.images['py-edge']!);
    const goCfg = imageConfig(go.images['edge-agent']!);
    assert.ok(
      pyCfg.compressedBytes > 3 * goCfg.compressedBytes,
      `${pyCfg.compressedBytes} vs ${goCfg.compressedBytes}`,
    );
    assert.ok(pyCfg.uncompressedBytes > 30e6, 'python3.11 + stdlib + libc');
    assert.equal(pyCfg.layerCount, 2);
    assert.deepEqual(pyCfg.entrypoint, ['/app/start.sh']);
    assert.equal(pyCfg.user, 'edge');
    // the image-size check orders them: py-edge fails the default 10 MB limit, the Go stack passes
    assert.equal(checkImageSize(py.images, 10e6).status, 'failed');
    assert.equal(checkImageSize(go.images, 10e6).status, 'passed');
  });
});
