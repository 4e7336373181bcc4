import { join } from 'node:path';
import { ExitCode, UsageError } from '../../core/errors.ts';
import { loadStack } from '../../stack/manifest.ts';
import { checkTargetOptions, targetPlugin } from '../../targets/registry.ts';
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
 * Deploy a stack and leave it running detached: the target keeps the deployment's description and its
 * cleanup journal in the state dir, so `inject` and `destroy` (or `cleanup`) find it later.
 */
export async function deployCommand(opts: DeployOptions, signal: AbortSignal): Promise<number> {
  const target = await targetPlugin(opts.target ?? 'local');
  if (!target.detached)
    throw new UsageError(
      `--target ${target.name} cannot leave a deployment running yet: use \`edgechaos run --target ${target.name}\``,
    );
  const options = { inventory: opts.inventory };
  checkTargetOptions(target, options);
  // --nodes n: edge-1..edge-n; not given: the target's default (3 local edges, every board of an inventory).
  const given =
    opts.nodes !== undefined && process.argv.some((a) => a === '--nodes' || a.startsWith('--nodes='));
  const n = Number(opts.nodes ?? '3');
  if (!Number.isInteger(n) || n < 1 || n > 200)
    throw new UsageError(`--nodes must be a whole number 1..200, got "${opts.nodes}"`);
  const mode = opts.edgeMode ?? 'auto';
  if (mode !== 'auto' && mode !== 'online' && mode !== 'offline')
    throw new UsageError(`--edge-mode must be auto, online or offline, got "${mode}"`);
  const stack = await loadStack(opts.stack);
  const edges =
    given || target.name === 'local'
      ? Array.from({ length: n }, (_, i) => ({ name: `edge-${i + 1}`, profile: opts.profile ?? 'x86-edge' }))
      : undefined;
  const d = await target.detached.deploy(
    { edges, edgeMode: mode, ...(opts.subnet ? { subnet: opts.subnet } : {}), stack, options },
    signal,
  );
  if (opts.json) printJson(d);
  else {
    const edgesUp = d.nodes.filter((x) => x.role === 'edge').length;
    console.log(`deployed ${d.runId}: ${edgesUp} edge node(s) healthy in ${d.ms} ms (stack ${stack.name})`);
    console.log(
      table(
        d.nodes.map((x) => [x.name, x.role, x.address, x.url ?? '-', x.profile ?? '-']),
        ['node', 'role', 'address', 'url', 'profile'],
      ),
    );
    console.log(`logs: ${join(d.runDir, 'logs')}`);
    console.log(
      `next: edgechaos inject partition --node edge-1 --for 30s   |   edgechaos destroy --run ${d.runId}`,
    );
  }
  return ExitCode.Pass;
}
