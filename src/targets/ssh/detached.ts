import { dirname, join } from 'node:path';
import { applyFault, type AppliedFault } from '../../../faults/index.ts';
import { Journal } from '../../core/cleanup/journal.ts';
import { CleanupRegistry, newRunId } from '../../core/cleanup/registry.ts';
import { sweep } from '../../core/cleanup/sweep.ts';
import { sleep } from '../../core/deadline.ts';
import { UsageError } from '../../core/errors.ts';
import { reportsDir } from '../../core/paths.ts';
import { loadStack } from '../../stack/manifest.ts';
import { attachSsh, detachSsh, sshStateOf } from './attach.ts';
import { loadInventory } from './inventory.ts';
import './reverters.ts';
import { removeSshState, saveSshState, startKeeper, stopKeeper, type SshDeploymentState } from './state.ts';
import { SshTarget } from './target.ts';

/**
 * The ssh side of `edgechaos deploy`, `inject` and `destroy` (the commands in src/cli/commands call
 * these): deploy leaves the boards running and writes a state file; inject attaches to it, applies one
 * fault (journaled, armed on the board, renewed by this process's heartbeat) and reverts it; destroy
 * replays the deployment's journal on every board.
 */

export interface SshDeployArgs {
  inventory?: string;
  nodes?: string;
  stack?: string;
  edgeMode?: string;
  json?: boolean;
}

export interface SshDeployed {
  runId: string;
  ms: number;
  stateFile: string;
  runDir: string;
  hub: string;
  nodes: { name: string; role: string; address: string; url?: string }[];
}

export async function sshDeploy(a: SshDeployArgs, signal: AbortSignal): Promise<SshDeployed> {
  const file = a.inventory ?? process.env['EDGECHAOS_INVENTORY'];
  if (!file)
    throw new UsageError('--target ssh needs an inventory file (--inventory F or EDGECHAOS_INVENTORY)');
  const inv = await loadInventory(file);
  const mode = a.edgeMode ?? 'auto';
  if (mode !== 'auto' && mode !== 'online' && mode !== 'offline')
    throw new UsageError(`--edge-mode must be auto, online or offline, got "${mode}"`);
  // --nodes n: edge-1..edge-n of the inventory; without it every edge of the inventory.
  let edges = inv.edges.map((e) => e.name);
  if (a.nodes !== undefined) {
    const n = Number(a.nodes);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`--nodes must be a whole number ≥ 1, got "${a.nodes}"`);
    const want = Array.from({ length: n }, (_, i) => `edge-${i + 1}`);
    const missing = want.filter((w) => !edges.includes(w));
    if (missing.length)
      throw new UsageError(`--nodes ${n}: the inventory ${inv.file} has no ${missing.join(', ')}`);
    edges = want;
  }
  const stack = await loadStack(a.stack);
  const runId = newRunId('dep');
  const runDir = join(reportsDir(), runId);
  const registry = CleanupRegistry.open(runId);
  const t0 = performance.now();
  let dep;
  try {
    dep = await new SshTarget(inv).deploy(
      stack,
      { edges: edges.map((name) => ({ name })), edgeMode: mode },
      { runId, runDir, registry, signal },
    );
  } catch (err) {
    await registry.close();
    throw err;
  }
  const ms = Math.round(performance.now() - t0);
  const state = sshStateOf(dep, { journal: registry.journalPath, createdAt: new Date().toISOString() });
  const stateFile = saveSshState(state);
  // This process exits now: let go of the boards (heartbeat, masters, the toxics timer), hand the
  // journal to a keeper so `cleanup` spares the live deployment; `destroy` reverts everything.
  await detachSsh(dep);
  const keeper = startKeeper(stateFile);
  saveSshState({ ...state, keeper });
  Journal.create(dirname(registry.journalPath), runId, keeper).close(false);
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
}

export interface SshInjectArgs {
  kind: string;
  node: string;
  durationMs: number;
  params: Record<string, string>;
  seed: number;
}

/** Apply one fault to an ssh deployment, wait, revert (Ctrl-C reverts at once). */
export async function sshInject(
  s: SshDeploymentState,
  a: SshInjectArgs,
  signal: AbortSignal,
  onApplied: (f: AppliedFault) => void,
): Promise<{ applied: AppliedFault; interrupted: boolean }> {
  const registry = CleanupRegistry.open(newRunId('inj'));
  let applied: AppliedFault | undefined;
  let interrupted = false;
  try {
    const dep = await attachSsh(s, registry);
    try {
      applied = await applyFault(
        dep,
        { kind: a.kind, node: a.node, params: a.params, durationMs: a.durationMs, seed: a.seed },
        registry,
        { signal },
      );
      onApplied(applied);
      await sleep(a.durationMs, signal).catch(() => {
        interrupted = true;
      });
    } finally {
      try {
        await applied?.revert();
      } finally {
        await detachSsh(dep);
      }
    }
  } finally {
    await registry.close();
  }
  return { applied, interrupted };
}

/** Tear an ssh deployment down from its journal (every board), then end its keeper. */
export async function sshDestroy(
  s: SshDeploymentState,
): Promise<{ runId: string; ms: number; reverted: string[]; failed: { what: string; error: string }[] }> {
  const t0 = performance.now();
  const rep = await sweep({ runId: s.runId, force: true, dir: dirname(s.journal) });
  const mine = rep.runs.find((r) => r.runId === s.runId);
  const failed = mine?.failed ?? [];
  if (failed.length === 0) {
    removeSshState(s.runId);
    stopKeeper(s.keeper);
  }
  return { runId: s.runId, ms: Math.round(performance.now() - t0), reverted: mine?.reverted ?? [], failed };
}
