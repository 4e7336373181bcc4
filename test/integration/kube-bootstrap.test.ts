import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../../src/core/proc.ts';
import { installKubeTools, kubeBinary, readKubeLock } from '../../src/control-plane/tools.ts';
import { tempDir } from '../helpers/temp.ts';

describe('edgechaos bootstrap --kube (control-plane binaries from the wrapper module)', () => {
  it('should give a fresh checkout working binaries from the per-machine cache in seconds, then be a no-op', async (t) => {
    using tools = tempDir('kube-tools');
    const prev = process.env['EDGECHAOS_TOOLS_DIR'];
    process.env['EDGECHAOS_TOOLS_DIR'] = tools.path;
    try {
      const log = join(tools.path, 'kube.log');
      // On a machine whose cache lacks this build, this is the cold build (minutes), as in bootstrap.
      const first = await installKubeTools(log);
      t.diagnostic(`first install: ${first.status} in ${first.ms} ms (${first.detail})`);
      const second = await installKubeTools(log);
      assert.equal(second.status, 'present');
      assert.ok(second.ms < 2000, `present check took ${second.ms} ms`);
      if (first.status === 'cached') assert.ok(first.ms < 10_000, `copy from the cache took ${first.ms} ms`);

      const lock = readKubeLock();
      const apiserver = await run([kubeBinary('kube-apiserver'), '--version']);
      assert.equal(apiserver.stdout.trim(), `Kubernetes ${lock.version}`);
      for (const c of ['kube-controller-manager', 'kube-scheduler']) {
        assert.match(
          (await run([kubeBinary(c), '--version'])).stdout,
          new RegExp(`Kubernetes ${lock.version}`),
        );
      }
      const etcd = await run([kubeBinary('etcd'), '--version']);
      assert.match(etcd.stdout, new RegExp(`etcd Version: ${lock.etcd.slice(1)}`));
      assert.ok(existsSync(join(tools.path, 'kube', lock.version, 'stamp')));
    } finally {
      if (prev === undefined) delete process.env['EDGECHAOS_TOOLS_DIR'];
      else process.env['EDGECHAOS_TOOLS_DIR'] = prev;
    }
  });

  it('should fail with the install hint when the binaries are not built', () => {
    using tools = tempDir('kube-none');
    const prev = process.env['EDGECHAOS_TOOLS_DIR'];
    process.env['EDGECHAOS_TOOLS_DIR'] = tools.path;
    try {
      assert.throws(
        () => kubeBinary('kube-apiserver'),
        /kube-apiserver is missing: run `edgechaos bootstrap --kube`/,
      );
    } finally {
      if (prev === undefined) delete process.env['EDGECHAOS_TOOLS_DIR'];
      else process.env['EDGECHAOS_TOOLS_DIR'] = prev;
    }
  });
});
