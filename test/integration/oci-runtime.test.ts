import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sleep } from '../../src/core/deadline.ts';
import { which } from '../../src/tools/find.ts';
import { containerState, listContainers, runcRoot } from '../../src/targets/local/oci/runtime.ts';
import { tempDir } from '../helpers/temp.ts';
import { deployed, ownDirsEnv } from '../helpers/cli.ts';
import { cli, ociTraces } from './oci-helpers.ts';

function requireTools(): void {
  for (const t of ['runc', 'crane'])
    assert.ok(
      which(t),
      `${t} is missing: run scripts/bootstrap (runc: apt-get install -y runc; crane: .tools/bin)`,
    );
}

const status = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.split(':')[0]!, l.slice(l.indexOf(':') + 1).trim()]),
  );

describe('oci runtime on the local target', () => {
  it('should run the reference stack from its images by default: board cgroup, node netns, image user, no caps, read-only rootfs; destroy leaves nothing', async () => {
    requireTools();
    using dir = tempDir('oci-deploy');
    const env = ownDirsEnv(dir.path);
    const info = await deployed(['--nodes', '1', '--profile', 'rpi4'], env);
    try {
      const id = `ec-${info.runId}-edge-1`;
      const st = await containerState(id);
      assert.equal(st?.status, 'running', `container ${id} in ${runcRoot}`);
      const pid = st.pid;
      const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      for (const c of ['cpu', 'memory', 'freezer'])
        assert.match(
          cg,
          new RegExp(`:${c}:/ec-${info.runId}-edge-1/ctr\\n`),
          `${c} cgroup under the board's`,
        );
      const s = status(pid);
      assert.equal(s['Uid']!.split(/\s+/)[0], '65532', 'the image user');
      assert.equal(s['CapEff'], '0000000000000000');
      assert.equal(s['CapBnd'], '0000000000000000');
      assert.equal(s['NoNewPrivs'], '1');
      const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
        .split('\n')
        .find((l) => l.split(' ')[4] === '/')!;
      assert.match(root.split(' ')[5]!, /^ro\b/, `rootfs read-only: ${root}`);
      assert.equal(
        statSync(`/proc/${pid}/ns/net`).ino,
        statSync(`/run/netns/ec-${info.runId}-edge-1`).ino,
        "the node's network namespace",
      );
      const edge = info.nodes.find((n) => n.name === 'edge-1')!;
      assert.equal((await fetch(`${edge.url}/healthz`)).status, 200);
      const w = await fetch(`${edge.url}/v1/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'oci-1', ts: Date.now(), payload: { v: 1 } }),
      });
      assert.equal(w.status, 201, await w.text());
      // the data dir is the bind mount: the record is on the host side
      assert.ok(readdirSync(join(info.runDir, 'data', 'edge-1')).length > 0);
      // the container's rootfs is the run's cache, inside the run dir
      assert.ok(existsSync(join(info.runDir, 'oci', 'rootfs')));
    } finally {
      const x = await cli(['destroy', '--run', info.runId], env);
      assert.equal(x.code, 0, x.err);
    }
    assert.deepEqual(ociTraces(info.runId), []);
    assert.equal(existsSync(join(info.runDir, 'oci')), false, 'bundles and rootfs cache removed');
  });

  it('should still run processes with --runtime process', async () => {
    requireTools();
    using dir = tempDir('oci-process');
    const env = ownDirsEnv(dir.path);
    const info = await deployed(['--nodes', '1', '--runtime', 'process'], env);
    try {
      assert.deepEqual(
        listContainers().filter((c) => c.includes(info.runId)),
        [],
      );
      const edge = info.nodes.find((n) => n.name === 'edge-1')!;
      assert.equal((await fetch(`${edge.url}/healthz`)).status, 200);
    } finally {
      const x = await cli(['destroy', '--run', info.runId], env);
      assert.equal(x.code, 0, x.err);
    }
    assert.deepEqual(ociTraces(info.runId), []);
  });

  it('should leave no container, cgroup, mount or rootfs after kill -9 of the harness mid-deploy and `edgechaos cleanup`', async () => {
    requireTools();
    using dir = tempDir('oci-kill');
    const env = ownDirsEnv(dir.path);
    let harness = 0;
    let runId: string | undefined;
    const done = cli(['deploy', '--nodes', '2', '--json'], env, (pid) => (harness = pid));
    // kill -9 as soon as the first container exists (the other edge is still starting)
    for (let i = 0; i < 1000 && !runId; i++) {
      runId = listContainers()
        .map((c) => /^ec-(dep-[a-z0-9-]+?)-(?:cloud|edge-\d+)$/.exec(c)?.[1]) // ec-<run id>-<node>
        .find((r) => r && existsSync(join(dir.path, 'reports', r)));
      if (!runId) await sleep(10);
    }
    assert.ok(runId, 'a container appeared');
    process.kill(harness, 'SIGKILL');
    const r = await done;
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(
      ociTraces(runId).some((t) => t.startsWith('container ')),
      'the container outlived the harness',
    );
    const c = await cli(['cleanup', '--json'], env);
    assert.equal(c.code, 0, c.err);
    assert.deepEqual(ociTraces(runId), []);
    assert.equal(
      existsSync(join(dir.path, 'reports', runId, 'oci')),
      false,
      'bundles and rootfs cache removed',
    );
  });
});
