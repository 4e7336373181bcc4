import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { CleanupRegistry, newRunId } from '../../src/core/cleanup/registry.ts';
import { KindCluster } from '../../src/targets/kube/kind.ts';
import { kindEnvironment } from '../../src/tools/kind-env.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';
import { hostDiff, hostState, type HostState } from './kind-support.ts';

/**
 * A real Kind cluster (control plane + 1 worker) on this machine must leave the host as it found it:
 * sysctls (kernel, vm, fs.file-max, forwarding, conntrack, bridge-nf-call-*), the FORWARD policy, nft
 * tables and network namespaces are snapshotted before, while the cluster runs, and after it is
 * deleted and the private dockerd stopped. Needs `edgechaos bootstrap --kind` (fails with that hint).
 */
describe('Kind leaves the host untouched', () => {
  isolatedRunDirs(before, after);
  let before0: HostState;

  it('creates a real cluster with Ready nodes, deletes it, and every host setting is unchanged', async (t) => {
    before0 = await hostState();
    const registry = CleanupRegistry.open(newRunId('kind-host'));
    const diffs: string[] = [];
    try {
      const env = await kindEnvironment(registry);
      const t0 = Date.now();
      const dir = join(process.env['EDGECHAOS_REPORTS_DIR']!, 'kind');
      const cluster = await KindCluster.create({
        spec: {
          name: `ec-host-${process.pid}`,
          edgeWorkers: 1,
          ...(env.nodeImage ? { nodeImage: env.nodeImage } : {}),
        },
        dir,
        registry,
      }).catch((err: unknown) => {
        // the run dir is removed after the test: kind's own account of the failure goes to the output
        const log = existsSync(join(dir, 'logs', 'kind-failed.log'))
          ? readFileSync(join(dir, 'logs', 'kind-failed.log'), 'utf8')
          : '(none written)';
        t.diagnostic(`kind create cluster failed; kind's stderr (last 6000 chars):\n${log.slice(-6000)}`);
        throw err;
      });
      t.diagnostic(
        `kind create cluster (1 control plane + 1 worker): ${Date.now() - t0} ms on ${env.engine}`,
      );
      try {
        const kc = new KubeConfig();
        kc.loadFromFile(cluster.kubeconfig);
        const core = kc.makeApiClient(CoreV1Api);
        const ready = async (): Promise<string[]> =>
          (await core.listNode()).items
            .filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
            .map((n) => n.metadata!.name!);
        const deadline = Date.now() + 180_000;
        while ((await ready()).length < 2 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 1000));
        assert.equal((await ready()).length, 2, 'both nodes Ready (CNI up)');
        // the node-level writers (systemd, kubelet, kube-proxy, flannel) have all started by now
        diffs.push(...hostDiff(before0, await hostState()).map((d) => `while running: ${d}`));
      } finally {
        await cluster.delete();
      }
    } finally {
      await registry.close();
    }
    diffs.push(...hostDiff(before0, await hostState()).map((d) => `after: ${d}`));
    assert.deepEqual(diffs, []);
  });
});
