import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CleanupRegistry } from '../../core/cleanup/registry.ts';
import { sweep } from '../../core/cleanup/sweep.ts';
import { UsageError } from '../../core/errors.ts';
import { stateDir } from '../../core/paths.ts';
import { startKeeper, stopKeeper } from '../../core/cleanup/keeper.ts';
import { deployUnderNewRun, handJournalTo } from '../detached-run.ts';
import type { DetachedDeployment, DetachedRequest, DetachedTarget } from '../plugin.ts';
import { LocalDeployment } from './deployment.ts';
import './reverters.ts';
import { deploymentsDir, loadDeploymentState, removeDeploymentState, saveDeploymentState } from './state.ts';
import { LocalTarget } from './target.ts';

/**
 * Deploy the local data plane and leave it running; `extend` adds to it (in the same journal) before
 * the journal is handed to the deployment's keeper — kube-local adds its control plane there.
 */
export async function deployDetachedLocal(
  req: DetachedRequest,
  signal: AbortSignal,
  extend?: (a: {
    dep: LocalDeployment;
    registry: CleanupRegistry;
    runId: string;
    runDir: string;
  }) => Promise<void>,
): Promise<DetachedDeployment> {
  const stack = req.stack;
  const { dep, ms, ...run } = await deployUnderNewRun(async ({ runId, runDir, registry }) => {
    const dep = await new LocalTarget().deploy(
      stack,
      {
        edges: (req.edges ?? [1, 2, 3].map((i) => ({ name: `edge-${i}`, profile: 'x86-edge' }))).map((e) => ({
          name: e.name,
          profile: e.profile,
        })),
        edgeMode: req.edgeMode,
        ...(req.subnet ? { subnet: req.subnet } : {}),
      },
      { runId, runDir, registry, signal },
    );
    // On an error, deploy reverted what it had created; what `extend` added goes with the registry.
    await extend?.({ dep, registry, runId, runDir });
    return dep;
  });
  const { runId, runDir } = run;
  const file = saveDeploymentState(dep.state);
  // This command exits now; the deployment lives on in its processes. Hand the journal over to a
  // keeper that lives as long as the state file, so `edgechaos cleanup` spares a deployment in use
  // (whichever of its processes died) and reverts it once the keeper is gone; `destroy` either way.
  const keeper = startKeeper(file, `ec-keeper-${runId}`);
  saveDeploymentState({ ...dep.state, keeper });
  handJournalTo(run, keeper); // the processes run detached
  return {
    runId,
    ms,
    stateFile: file,
    runDir,
    hub: dep.hubUrl,
    nodes: dep.state.nodes.map((x) => ({
      name: x.name,
      role: x.role,
      address: x.address,
      url: x.url,
      ...(x.profile ? { profile: x.profile } : {}),
      netns: x.netns,
    })),
  };
}

/**
 * `edgechaos deploy|inject|destroy --target local`: the deployment's description and its cleanup
 * journal go to the state dir, so later processes attach to it or tear it down.
 */
export const localDetached: DetachedTarget = {
  deploy: (req, signal) => deployDetachedLocal(req, signal),

  find(runId) {
    const file = (id: string): string => join(deploymentsDir(), `${id}.json`);
    if (runId) return existsSync(file(runId)) ? { runId, at: statSync(file(runId)).mtimeMs } : undefined;
    try {
      const s = loadDeploymentState();
      return { runId: s.runId, at: statSync(file(s.runId)).mtimeMs };
    } catch {
      return undefined;
    }
  },

  attach(runId) {
    const dep = LocalDeployment.attach(loadDeploymentState(runId));
    return Promise.resolve({ runId, surface: dep.faultSurface(), detach: () => Promise.resolve() });
  },

  async destroy(runId) {
    let dir = stateDir();
    let keeper: { pid: number; startTime: string } | undefined;
    try {
      const s = loadDeploymentState(runId);
      dir = dirname(s.journal);
      keeper = s.keeper;
    } catch {
      // No description left (e.g. removed by hand): the journal alone is enough.
    }
    const t0 = performance.now();
    const rep = await sweep({ runId, force: true, dir });
    const mine = rep.runs.find((r) => r.runId === runId);
    if (!mine) {
      removeDeploymentState(runId);
      throw new UsageError(`no deployment or journal "${runId}" (nothing to destroy)`);
    }
    if (mine.failed.length === 0) {
      removeDeploymentState(runId);
      stopKeeper(keeper);
    }
    return { runId, ms: Math.round(performance.now() - t0), reverted: mine.reverted, failed: mine.failed };
  },
};
