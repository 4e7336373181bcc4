import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sweep } from '../../core/cleanup/sweep.ts';
import { UsageError } from '../../core/errors.ts';
import { attachSsh, detachSsh, sshStateOf } from './attach.ts';
import { loadInventory } from './inventory.ts';
import './reverters.ts';
import { deployUnderNewRun, handJournalTo } from '../detached-run.ts';
import type { DetachedTarget } from '../plugin.ts';
import { inventoryFile } from './plugin.ts';
import {
  findSshState,
  removeSshState,
  saveSshState,
  sshDeploymentsDir,
  startKeeper,
  stopKeeper,
} from './state.ts';
import { SshTarget } from './target.ts';

/**
 * `edgechaos deploy|inject|destroy --target ssh`: deploy leaves the boards running and writes a state
 * file; inject attaches to it (one master connection per board, the heartbeat renewing the board-side
 * safety timers), applies one fault and reverts it; destroy replays the deployment's journal on every
 * board.
 */
export const sshDetached: DetachedTarget = {
  async deploy(req, signal) {
    const inv = await loadInventory(inventoryFile(req.options));
    // No --nodes: every edge of the inventory.
    const all = inv.edges.map((e) => e.name);
    const edges = req.edges?.map((e) => e.name) ?? all;
    const missing = edges.filter((w) => !all.includes(w));
    if (missing.length)
      throw new UsageError(`--nodes ${edges.length}: the inventory ${inv.file} has no ${missing.join(', ')}`);
    const { dep, ms, ...run } = await deployUnderNewRun(({ runId, runDir, registry }) =>
      new SshTarget(inv).deploy(
        req.stack,
        { edges: edges.map((name) => ({ name })), edgeMode: req.edgeMode },
        { runId, runDir, registry, signal },
      ),
    );
    const { runId, runDir, registry } = run;
    const state = sshStateOf(dep, { journal: registry.journalPath, createdAt: new Date().toISOString() });
    const stateFile = saveSshState(state);
    // This process exits now: let go of the boards (heartbeat, masters, the toxics timer), hand the
    // journal to a keeper so `cleanup` spares the live deployment; `destroy` reverts everything.
    await detachSsh(dep);
    const keeper = startKeeper(stateFile);
    saveSshState({ ...state, keeper });
    handJournalTo(run, keeper);
    return {
      runId,
      ms,
      stateFile,
      runDir,
      hub: dep.hubUrl,
      nodes: dep.nodes.map((x) => ({
        name: x.name,
        role: x.role,
        address: x.address,
        ...(dep.stacks.get(x.name) ? { url: dep.stacks.get(x.name)!.url } : {}),
      })),
    };
  },

  find(runId) {
    const s = findSshState(runId);
    return s
      ? { runId: s.runId, at: statSync(join(sshDeploymentsDir(), `${s.runId}.json`)).mtimeMs }
      : undefined;
  },

  async attach(runId, registry) {
    const s = findSshState(runId);
    if (!s) throw new UsageError(`no ssh deployment "${runId}"`);
    const dep = await attachSsh(s, registry);
    return { runId, surface: dep.faultSurface(), detach: () => detachSsh(dep) };
  },

  async destroy(runId) {
    const s = findSshState(runId);
    if (!s) throw new UsageError(`no ssh deployment "${runId}" (nothing to destroy)`);
    const t0 = performance.now();
    const rep = await sweep({ runId: s.runId, force: true, dir: dirname(s.journal) });
    const mine = rep.runs.find((r) => r.runId === s.runId);
    const failed = mine?.failed ?? [];
    if (failed.length === 0) {
      removeSshState(s.runId);
      stopKeeper(s.keeper);
    }
    return { runId: s.runId, ms: Math.round(performance.now() - t0), reverted: mine?.reverted ?? [], failed };
  },
};
