import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readWholeLedger } from '../../src/campaign/converge.ts';
import { call, readLedger } from '../../src/contract/client.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sleep } from '../../src/core/deadline.ts';
import { LoopbackStack } from '../../src/stack/loopback.ts';
import { loadStack, referenceStackFile } from '../../src/stack/manifest.ts';
import type { CampaignDeployment } from '../../src/targets/campaign-port.ts';
import { withHubNodes } from '../../src/targets/kube/cluster-deployment.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * On a cluster the stack's manifests name each agent after its Kubernetes node (EDGE_NODE_ID from
 * spec.nodeName: edgechaos-…-worker), not after the scenario's edge (edge-1). The hub's ledger rows
 * carry the agent's id, so the campaign must read the ledger under that id — it read it under
 * "edge-1" and found none of the synced writes (issue 19: 0 of 479 on Kind). Real agent and hub
 * binaries on loopback, the agent started with a Kubernetes-style node id.
 */
describe('ledger read under the id the agent reports to the hub', () => {
  it('finds the synced writes of an agent named after its Kubernetes node', async () => {
    using dir = tempDir('hub-node-id');
    await using reg = CleanupRegistry.open(`test-hub-node-id-${process.pid}`, dir.path);
    const k8sNode = 'edgechaos-run-worker';
    await using s = await LoopbackStack.start(await loadStack(referenceStackFile), {
      dir: dir.path,
      registry: reg,
      nodeId: k8sNode,
    });
    const ids = ['hub-node-id-1', 'hub-node-id-2', 'hub-node-id-3'];
    for (const id of ids) {
      const a = await call('POST', `${s.edge}/v1/records`, { id, ts: Date.now(), payload: { id } });
      assert.ok(a.status >= 200 && a.status < 300, `POST ${id}: ${a.status}`);
    }
    // synced: the hub holds them under the agent's id
    for (let i = 0; (await readLedger(s.hub, k8sNode)).rows.length < ids.length; i++) {
      assert.ok(i < 100, 'the agent synced its writes to the hub within 20 s');
      await sleep(200);
    }
    const port = (edges: CampaignDeployment['edges']): CampaignDeployment =>
      ({ hubUrl: s.hub, edges }) as CampaignDeployment;
    const scenarioEdge = [{ name: 'edge-1', url: s.edge }];
    // what the campaign read before: the scenario's name, no rows
    assert.deepEqual(await readWholeLedger(port(scenarioEdge)), []);
    const edges = await withHubNodes(scenarioEdge);
    assert.deepEqual(edges, [{ name: 'edge-1', url: s.edge, hubNode: k8sNode }]);
    const rows = await readWholeLedger(port(edges));
    assert.deepEqual(rows.map((r) => r.id).sort(), ids);
    // an agent that already reports the scenario's name needs nothing more
    assert.deepEqual(await withHubNodes([{ name: k8sNode, url: s.edge }]), [{ name: k8sNode, url: s.edge }]);
  });
});
