import { prevalidateFaults } from '../../../faults/catalogue.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { campaignPort, type CampaignDeployment } from '../campaign-port.ts';
import { ociColdStarts } from './oci/startup.ts';
import type { CampaignRequest, DeployContext, TargetPlugin } from '../plugin.ts';
import type { Deployment } from '../types.ts';
import { localDetached } from './detached.ts';
import { LocalTarget } from './target.ts';

/** What local deployments offer faults. */
export const localCapabilities = ['shell', 'stack', 'uplink', 'data', 'clock'] as const;

/** The scenario's nodes as namespaces + cgroups on this host. */
export function deployLocal(req: CampaignRequest, ctx: DeployContext): Promise<Deployment> {
  return new LocalTarget().deploy(
    req.stack,
    {
      edges: req.edges.map((n) => ({
        name: n.name,
        profile: n.profile,
        ...(n.arch ? { arch: n.arch } : {}),
      })),
      edgeMode: req.edgeMode,
      ...(req.subnet ? { subnet: req.subnet } : {}),
    },
    { runId: ctx.runId, runDir: ctx.runDir, registry: ctx.registry, signal: ctx.signal },
  );
}

/** Cold starts of the stack's image as containers when the edges run from images (src/targets/local/oci). */
export function withOciColdStarts(
  port: CampaignDeployment,
  dep: Deployment,
  stack: StackManifest,
): CampaignDeployment {
  return {
    ...port,
    coldStarts: (samples, signal) =>
      ociColdStarts(dep, stack, samples, signal) ?? port.coldStarts(samples, signal),
  };
}

/**
 * `--target local` (the default): every node a network namespace on one bridge, edges in cgroups that
 * emulate their board, edge → cloud traffic through a toxiproxy proxy per edge.
 */
export const localPlugin: TargetPlugin = {
  name: 'local',
  summary: 'network namespaces + cgroups on this host (the default)',
  capabilities: localCapabilities,
  options: {},
  preflight(req) {
    prevalidateFaults(
      req.faults,
      req.edges.map((e) => e.name),
      localPlugin,
    );
    return Promise.resolve();
  },
  async deploy(req, ctx) {
    await localPlugin.preflight(req);
    const dep = await deployLocal(req, ctx);
    return withOciColdStarts(campaignPort(dep, req.stack, ctx.runDir), dep, req.stack);
  },
  detached: localDetached,
};
