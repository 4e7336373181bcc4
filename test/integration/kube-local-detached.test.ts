import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { cli, ownDirsEnv } from '../helpers/cli.ts';

/**
 * `deploy --target kube-local` leaves the local data plane and the embedded control plane running;
 * `inject drain` from another process reaches the cluster through the plugin's `kube` capability (the
 * Kubernetes faults are catalogue kinds like the others); `destroy` leaves nothing. A missing
 * control-plane build fails here with the bootstrap hint, never skips.
 */

/** Processes, namespaces and cgroups of the run still on the machine. */
function traces(runId: string): string[] {
  const out = readdirSync('/run/netns')
    .filter((f) => f.includes(runId))
    .map((f) => `netns ${f}`);
  for (const c of ['cpu', 'memory'])
    out.push(
      ...readdirSync(`/sys/fs/cgroup/${c}`)
        .filter((f) => f.includes(runId))
        .map((f) => `cgroup ${c}/${f}`),
    );
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (cmd.includes(runId) || env.includes(runId)) out.push(`process ${pid} ${cmd.split('\0')[0]}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('kube-local: deploy, inject a Kubernetes fault from another process, destroy', () => {
  it('should drain a node of a running kube-local deployment and uncordon it on revert, then leave nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-kube-local-'));
    const env = ownDirsEnv(dir, { EDGECHAOS_RUNTIME: 'process' });
    let runId: string | undefined;
    try {
      const d = await cli(['deploy', '--target', 'kube-local', '--nodes', '2', '--json'], env);
      assert.equal(d.code, 0, d.err);
      runId = (JSON.parse(d.out) as { runId: string }).runId;
      const kc = new KubeConfig();
      kc.loadFromFile(join(dir, 'reports', runId, 'kube', 'admin.kubeconfig'));
      const api = kc.makeApiClient(CoreV1Api);
      const unschedulable = async (): Promise<boolean> =>
        (await api.readNode({ name: 'edge-2' })).spec?.unschedulable === true;
      assert.equal(await unschedulable(), false);

      // the fault is held for 20 s; while it is, the node is cordoned; the inject's own revert uncordons
      const inj = cli(['inject', 'drain', '--node', 'edge-2', '--for', '20s', '--run', runId, '--json'], env);
      let seen = false;
      for (let i = 0; i < 150 && !seen; i++) {
        seen = await unschedulable().catch(() => false);
        if (!seen) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(seen, true, 'edge-2 cordoned by the drain while the fault is held');
      const r = await inj;
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /"summary": "drain edge-2"/);
      assert.equal(await unschedulable(), false, 'uncordoned on revert');

      const x = await cli(['destroy', '--run', runId, '--json'], env);
      assert.equal(x.code, 0, x.err);
      assert.deepEqual((JSON.parse(x.out) as { failed: unknown[] }).failed, []);
      assert.deepEqual(traces(runId), []);
      assert.equal(existsSync(join(dir, 'state', 'kube-local-deployments', `${runId}.json`)), false);
      assert.deepEqual(readdirSync(join(dir, 'reports', runId, 'kube')), ['logs'], 'keys and tokens removed');
      runId = undefined;
    } finally {
      if (runId) await cli(['destroy', '--run', runId], env);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
