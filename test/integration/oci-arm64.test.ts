import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { conform } from '../../src/conform/suite.ts';
import { CleanupRegistry, newRunId } from '../../src/core/cleanup/registry.ts';
import { loadStack } from '../../src/stack/manifest.ts';
import { which } from '../../src/tools/find.ts';
import { containerState } from '../../src/targets/local/oci/runtime.ts';
import { LocalTarget } from '../../src/targets/local/target.ts';
import { tempDir } from '../helpers/temp.ts';
import { ociTraces } from './oci-helpers.ts';

// The container runtime, not the data-dir fault layer, is under test here (see oci-runtime.test.ts).
process.env['EDGECHAOS_DATA_LAYER'] = 'off';

describe('oci runtime: an arm64 edge under qemu-user', () => {
  it('should run the arm64 edge-agent image under the emulator, pass conformance and sync to the amd64 hub, and leave nothing behind', async () => {
    for (const t of ['runc', 'crane', 'qemu-aarch64-static'])
      assert.ok(which(t), `${t} is missing: scripts/bootstrap (qemu: apt-get install -y qemu-user-static)`);
    const stack = await loadStack();
    assert.ok(
      existsSync(stack.images['edge-agent']!.replace('-amd64', '-arm64')),
      'stack/build.sh arm64 images',
    );
    using dir = tempDir('oci-arm64');
    process.env['EDGECHAOS_STATE_DIR'] = join(dir.path, 'state');
    const runId = newRunId('arm');
    const binfmtBefore = existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64');
    {
      await using reg = CleanupRegistry.open(runId);
      const dep = await new LocalTarget().deploy(
        stack,
        { edges: [{ name: 'edge-1', profile: 'rpi4', arch: 'arm64' }] },
        { runId, runDir: join(dir.path, 'run'), registry: reg },
      );
      try {
        const oci = dep.local('edge-1').oci!;
        assert.equal(oci.emulated, 'arm64');
        const st = await containerState(oci.id);
        assert.equal(st?.status, 'running');
        // the container's init is the emulator running the arm64 ELF (not the amd64 image)
        assert.equal(readlinkSync(`/proc/${st.pid}/exe`), '/.edgechaos-qemu');
        const elf = readFileSync(`/proc/${st.pid}/root/edge-agent`);
        assert.equal(elf.readUInt16LE(18), 0xb7, 'the entrypoint is an aarch64 ELF (e_machine EM_AARCH64)');
        const cmdline = readFileSync(`/proc/${st.pid}/cmdline`, 'utf8').split('\0');
        assert.deepEqual(cmdline.slice(0, 2), ['/.edgechaos-qemu', '/edge-agent']);
        const r = await conform({ edge: dep.edges[0]!.url, hub: dep.hubUrl, patienceMs: 60_000 });
        const failed = r.cases.filter((c) => c.status === 'failed');
        assert.deepEqual(failed, [], 'conformance on the emulated edge');
        assert.ok(
          r.cases.some((c) => c.status === 'passed' && /sync|ledger|hub/i.test(`${c.id} ${c.title}`)),
          `a sync case passed: ${r.cases.map((c) => `${c.id}:${c.status}`).join(', ')}`,
        );
      } finally {
        await dep.teardown();
      }
    }
    assert.deepEqual(ociTraces(runId), []);
    assert.equal(existsSync('/proc/sys/fs/binfmt_misc/qemu-aarch64'), binfmtBefore, 'no binfmt entry added');
  });
});
