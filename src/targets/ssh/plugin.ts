import { planContext } from '../../../faults/apply.ts';
import type { HasFaultSurface } from '../../../faults/capabilities.ts';
import type { ResolvedFault } from '../../../faults/types.ts';
import { atFault, planFault, prevalidateFaults } from '../../../faults/catalogue.ts';
import { UsageError } from '../../core/errors.ts';
import { campaignPort } from '../campaign-port.ts';
import type { TargetOptions, TargetPlugin } from '../plugin.ts';
import { sshColdStartPath, sshColdStarts } from './cold-starts.ts';
import { sshDetached } from './detached.ts';
import { loadInventory } from './inventory.ts';
import { SshTarget } from './target.ts';

/** The inventory file: `--inventory`, else $EDGECHAOS_INVENTORY. */
export function inventoryFile(options: TargetOptions): string {
  const file = options['inventory'] ?? process.env['EDGECHAOS_INVENTORY'];
  if (!file)
    throw new UsageError('--target ssh needs an inventory file (--inventory F or EDGECHAOS_INVENTORY)');
  return file;
}

/**
 * Plan every fault against the deployed boards (pure): now that preflight has run, a disk fault on a
 * board that got no data layer (no /dev/fuse or tmpfs) is refused by name (`faults[i]`, the node)
 * before any load or fault; `prevalidateFaults` could only check the target's capabilities.
 */
export function planOnBoards(faults: readonly ResolvedFault[], dep: HasFaultSurface): void {
  const ctx = planContext(dep);
  faults.forEach((f, i) => atFault(i, () => planFault(f, ctx)));
}

/**
 * `--target ssh`: real boards. The scenario's edge nodes (edge-1, …) must be edge hosts of the
 * inventory; board profiles are ignored (a real board is its own profile).
 */
export const sshPlugin: TargetPlugin = {
  name: 'ssh',
  summary: 'real boards over SSH (an inventory file names them)',
  capabilities: ['shell', 'stack', 'uplink', 'data', 'clock'],
  options: { inventory: 'the boards inventory (default $EDGECHAOS_INVENTORY)' },
  async preflight(req) {
    await loadInventory(inventoryFile(req.options));
    prevalidateFaults(
      req.faults,
      req.edges.map((e) => e.name),
      sshPlugin,
    );
  },
  async deploy(req, { runId, runDir, registry, signal }) {
    const inv = await loadInventory(inventoryFile(req.options));
    prevalidateFaults(
      req.faults,
      req.edges.map((e) => e.name),
      sshPlugin,
    );
    const dep = await new SshTarget(inv).deploy(
      req.stack,
      { edges: req.edges.map((n) => ({ name: n.name })), edgeMode: req.edgeMode },
      { runId, runDir, registry, signal },
    );
    try {
      planOnBoards(req.faults, dep);
    } catch (err) {
      await dep.teardown();
      throw err;
    }
    // Cold starts: the first edge's container (or its process) and a fresh data folder on its board,
    // timed from the board's start of it; per node, how its stack runs (a board without runc: process).
    return {
      ...campaignPort(dep, req.stack, runDir),
      coldStarts: (samples, sig) => sshColdStarts(dep, req.stack, samples, sig),
      coldStartPath: sshColdStartPath(dep),
      runtimes: dep.runtimes(),
    };
  },
  detached: sshDetached,
};
