import { dirname, join } from 'node:path';
import { Journal } from '../../core/cleanup/journal.ts';
import { CleanupRegistry, newRunId } from '../../core/cleanup/registry.ts';
import { ExitCode, UsageError } from '../../core/errors.ts';
import { reportsDir } from '../../core/paths.ts';
import { startKeeper } from '../../core/cleanup/keeper.ts';
import { loadStack } from '../../stack/manifest.ts';
import { LocalTarget, saveDeploymentState } from '../../targets/local/index.ts';
import '../../targets/local/reverters.ts';
import { printJson, table } from '../output.ts';

export interface DeployOptions {
  target?: string;
  nodes?: string;
  stack?: string;
  profile?: string;
  subnet?: string;
  edgeMode?: string;
  json?: boolean;
  /** --target ssh: the boards inventory (default $EDGECHAOS_INVENTORY). */
  inventory?: string;
}

/**
 * Deploy a stack and leave it running detached: the deployment's description and its cleanup journal
 * go to the state dir, so `inject` and `destroy` (or `cleanup`) find it later.
 */
export async function deployCommand(opts: DeployOptions, signal: AbortSignal): Promise<number> {
  const target = opts.target ?? 'local';
  if (target === 'ssh') return sshDeployCommand(opts, signal);
  if (target !== 'local') throw new UsageError(`--target ${target}: only the local target can deploy so far`);
  const n = Number(opts.nodes ?? '3');
  if (!Number.isInteger(n) || n < 1 || n > 200)
    throw new UsageError(`--nodes must be a whole number 1..200, got "${opts.nodes}"`);
  const mode = opts.edgeMode ?? 'auto';
  if (mode !== 'auto' && mode !== 'online' && mode !== 'offline')
    throw new UsageError(`--edge-mode must be auto, online or offline, got "${mode}"`);
  const stack = await loadStack(opts.stack);
  const runId = newRunId('dep');
  const runDir = join(reportsDir(), runId);
  const registry = CleanupRegistry.open(runId);
  const t0 = performance.now();
  let dep;
  try {
    dep = await new LocalTarget().deploy(
      stack,
      {
        edges: Array.from({ length: n }, (_, i) => ({
          name: `edge-${i + 1}`,
          profile: opts.profile ?? 'x86-edge',
        })),
        edgeMode: mode,
        ...(opts.subnet ? { subnet: opts.subnet } : {}),
      },
      { runId, runDir, registry, signal },
    );
  } catch (err) {
    // deploy reverted what it had created; the empty journal goes away with the registry.
    await registry.close();
    throw err;
  }
  const ms = Math.round(performance.now() - t0);
  const file = saveDeploymentState(dep.state);
  // This command exits now; the deployment lives on in its processes. Hand the journal over to a
  // keeper that lives as long as the state file, so `edgechaos cleanup` spares a deployment in use
  // (whichever of its processes died) and reverts it once the keeper is gone; `destroy` either way.
  Journal.create(dirname(registry.journalPath), runId, startKeeper(file, `ec-keeper-${runId}`)).close(false);
  // The registry is deliberately left open (not closed = not reverted): the journal keeps every resource
  // for `edgechaos destroy`; the processes run detached.
  if (opts.json)
    printJson({
      runId,
      ms,
      stateFile: file,
      runDir,
      hub: dep.hubUrl,
      nodes: dep.state.nodes.map((x) => ({
        name: x.name,
        address: x.address,
        url: x.url,
        profile: x.profile,
      })),
    });
  else {
    console.log(`deployed ${runId}: ${n} edge node(s) healthy in ${ms} ms (stack ${stack.name})`);
    console.log(
      table(
        dep.state.nodes.map((x) => [x.name, x.address, x.url, x.profile ?? '-', x.netns]),
        ['node', 'address', 'url', 'profile', 'netns'],
      ),
    );
    console.log(`logs: ${join(runDir, 'logs')}`);
    console.log(
      `next: edgechaos inject partition --node edge-1 --for 30s   |   edgechaos destroy --run ${runId}`,
    );
  }
  return ExitCode.Pass;
}

/** --target ssh: the boards of the inventory; --nodes picks edge-1..n (default: every edge). */
async function sshDeployCommand(opts: DeployOptions, signal: AbortSignal): Promise<number> {
  const { sshDeploy } = await import('../../targets/ssh/cli.ts');
  const d = await sshDeploy(
    {
      ...(opts.inventory ? { inventory: opts.inventory } : {}),
      // commander's default of 3 means "every edge of the inventory" here unless asked for explicitly
      ...(opts.nodes !== undefined && process.argv.some((a) => a === '--nodes' || a.startsWith('--nodes='))
        ? { nodes: opts.nodes }
        : {}),
      ...(opts.stack ? { stack: opts.stack } : {}),
      ...(opts.edgeMode ? { edgeMode: opts.edgeMode } : {}),
    },
    signal,
  );
  if (opts.json) printJson(d);
  else {
    console.log(`deployed ${d.runId}: ${d.nodes.length} board(s) healthy in ${d.ms} ms`);
    console.log(
      table(
        d.nodes.map((x) => [x.name, x.role, x.address, x.url ?? '-']),
        ['node', 'role', 'address', 'url'],
      ),
    );
    console.log(`logs: ${join(d.runDir, 'logs')}`);
    console.log(
      `next: edgechaos inject partition --node edge-1 --for 30s   |   edgechaos destroy --run ${d.runId}`,
    );
  }
  return ExitCode.Pass;
}
