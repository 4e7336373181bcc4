import { campaignPort, prevalidateFaults } from '../../campaign/local-deployer.ts';
import type { Deployer } from '../../campaign/run.ts';
import { UsageError } from '../../core/errors.ts';
import { sshColdStarts } from './cold-starts.ts';
import { loadInventory } from './inventory.ts';
import { SshTarget } from './target.ts';

/**
 * The campaign deployer for `--target ssh`: the inventory comes from `inventory` or, when not given,
 * from $EDGECHAOS_INVENTORY. The scenario's edge nodes (edge-1, …) must be edge hosts of the inventory;
 * board profiles are ignored (a real board is its own profile).
 */
export function sshDeployer(inventory?: string): Deployer {
  return async ({ scenario, plan, stack, registry, runDir, runId, signal }) => {
    const file = inventory ?? process.env['EDGECHAOS_INVENTORY'];
    if (!file)
      throw new UsageError(
        '--target ssh needs an inventory file (set EDGECHAOS_INVENTORY or pass --inventory)',
      );
    const inv = await loadInventory(file);
    prevalidateFaults(plan);
    const dep = await new SshTarget(inv).deploy(
      stack,
      { edges: plan.nodes.map((n) => ({ name: n.name })), edgeMode: scenario.edgeMode },
      { runId, runDir, registry, signal },
    );
    // Cold starts: the board's own binary and data folder, timed from the board's process start.
    return {
      ...campaignPort(dep, stack, runDir),
      coldStarts: (samples, sig) => sshColdStarts(dep, stack, samples, sig),
    };
  };
}

export const sshDeployerFromEnv: Deployer = (args) => sshDeployer()(args);
