import { join } from 'node:path';
import { prevalidateFaults } from '../../../faults/catalogue.ts';
import { clusterCampaign, keepOnlyLogs, nodeHealthy } from '../kube/campaign.ts';
import { kindEnvironment, kindEnvironmentPreflight } from '../../tools/kind-env.ts';
import { KindCluster } from '../kube/kind.ts';
import type { TargetPlugin } from '../plugin.ts';

/**
 * `--target kind`: a fresh Kind cluster per run (the control plane is the cloud node, one worker per
 * scenario edge), the stack's images loaded from its archives, deleted at the end. Needs Docker and
 * kind; fails early with the install hint when they are absent.
 */
export const kindPlugin: TargetPlugin = {
  name: 'kind',
  summary: 'a fresh Kind cluster per run (Docker + kind)',
  capabilities: ['shell', 'stack', 'uplink', 'kube'],
  options: { 'kind-image': 'the kindest/node image to use (default: the pinned one)' },
  async preflight(req) {
    prevalidateFaults(
      req.faults,
      req.edges.map((e) => e.name),
      kindPlugin,
    );
    await kindEnvironmentPreflight();
  },
  async deploy(req, ctx) {
    await kindPlugin.preflight(req);
    const nodeImage = req.options['kind-image'] ?? (await kindEnvironment(ctx.registry)).nodeImage;
    const cluster = await KindCluster.create({
      spec: {
        name: `edgechaos-${ctx.runId}`,
        edgeWorkers: req.edges.length,
        ...(req.loadReplicas !== undefined ? { loadWorker: true } : {}),
        ...(nodeImage ? { nodeImage } : {}),
      },
      dir: join(ctx.runDir, 'kind'),
      registry: ctx.registry,
      images: Object.values(req.stack.images),
    });
    return clusterCampaign(req, ctx, {
      target: 'kind',
      kubeconfig: cluster.kubeconfig,
      nodeLoss: (kc) => cluster.nodeLossDriver(nodeHealthy(kc)),
      copyToNodes: (files) => cluster.copyToNodes(files),
      loadImage: (archive) => cluster.loadImage(archive),
      dispose: async () => {
        await cluster.delete();
        keepOnlyLogs(join(ctx.runDir, 'kind'));
      },
    });
  },
};
