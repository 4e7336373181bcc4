import { existsSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { prevalidateFaults } from '../../../faults/catalogue.ts';
import { TargetError, UsageError } from '../../core/errors.ts';
import { run } from '../../core/proc.ts';
import { which } from '../../tools/find.ts';
import type { TargetOptions, TargetPlugin } from '../plugin.ts';
import { clusterCampaign, nodeHealthy } from './campaign.ts';
import { containerNodeLoss, copyIntoNodes, kindCommands, kindPreflight, realExecutor } from './kind.ts';
import { loadKubeConfig } from './target.ts';

/** `--kubeconfig` (else $KUBECONFIG), checked to exist. */
function kubeconfigFile(options: TargetOptions): string {
  const kubeconfig = options['kubeconfig'] ?? process.env['KUBECONFIG'];
  if (!kubeconfig)
    throw new UsageError('--target kube needs a kubeconfig: --kubeconfig FILE (or $KUBECONFIG)');
  if (!existsSync(kubeconfig)) throw new UsageError('kubeconfig not found', { file: kubeconfig });
  return kubeconfig;
}

/**
 * `--target kube`: an existing cluster from a kubeconfig. Node-level faults and measurements go
 * through `docker exec`, so its nodes must be containers (kind, k3d clusters you made yourself);
 * node loss = `docker stop` of the node. Clusters of real machines: deploy to the boards with
 * `--target ssh`.
 */
export const kubePlugin: TargetPlugin = {
  name: 'kube',
  summary: 'an existing cluster whose nodes are local containers (kind, k3d)',
  capabilities: ['shell', 'stack', 'uplink', 'kube'],
  options: {
    kubeconfig: 'the cluster (default $KUBECONFIG)',
    context: 'the kubeconfig context (default: its current one)',
  },
  async preflight(req) {
    kubeconfigFile(req.options);
    prevalidateFaults(
      req.faults,
      req.edges.map((e) => e.name),
      kubePlugin,
    );
    await kindPreflight(realExecutor, which, { needKind: false });
  },
  async deploy(req, ctx) {
    await kubePlugin.preflight(req);
    const kubeconfig = kubeconfigFile(req.options);
    const context = req.options['context'];
    const nodes = new Set<string>();
    return clusterCampaign(req, ctx, {
      target: 'kube',
      kubeconfig,
      ...(context ? { context } : {}),
      nodeLoss: (kc) => containerNodeLoss(nodeHealthy(kc)),
      copyToNodes: async (files) => {
        const kc = loadKubeConfig({ kubeconfig, ...(context ? { context } : {}) });
        for (const n of (await kc.makeApiClient(CoreV1Api).listNode()).items) nodes.add(n.metadata!.name!);
        for (const node of nodes) {
          const r = await run(
            ['docker', 'inspect', '--type', 'container', '--format', '{{.State.Running}}', node],
            { allowFailure: true },
          );
          if (r.code !== 0 || r.stdout.trim() !== 'true')
            throw new TargetError(
              `node ${node} is not a running container on this machine: --target kube reaches nodes with docker exec (kind, k3d clusters); for boards use --target ssh`,
            );
        }
        await copyIntoNodes(nodes, files);
      },
      loadImage: async (archive) => {
        for (const node of nodes) await realExecutor(kindCommands.importImage(node), { inputFile: archive });
      },
      dispose: () => Promise.resolve(),
    });
  },
};
