import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRegistered, type CleanupHandle, type CleanupRegistry } from '../../core/cleanup/registry.ts';
import { registerReverter } from '../../core/cleanup/reverters.ts';
import { deadline, waitFor } from '../../core/deadline.ts';
import { TargetError, ToolMissingError, UsageError } from '../../core/errors.ts';
import { unmountAll } from '../../core/mounts.ts';
import { repoRoot } from '../../core/paths.ts';
import { run } from '../../core/proc.ts';
import type { DataLayer } from '../../../faults/capabilities.ts';
import { parseBytes } from './profiles.ts';
import type { LocalNodeState } from './topology-plan.ts';

/**
 * Each edge's data dir as an edge board has it: a size-limited disk (a tmpfs with size=) under
 * `<dataDir>.disk`, and the ec-fusefs fault layer mounted over the data dir itself, passing through
 * to that disk. disk-full fills the disk; io-latency, io-error and power-loss talk to the layer.
 * The layer runs in the root namespace, outside the node's cgroups: it is the node's disk, not one
 * of its processes, so a power cut (kill-all) does not kill it.
 */

export const defaultDataDirBytes = 64 * 2 ** 20;

export interface DataDirPlan {
  node: string;
  /** The size-limited file system (tmpfs mount point). */
  backing: string;
  /** The node's data dir: the layer is mounted here. */
  mount: string;
  socket: string;
  sizeBytes: number;
  /** The layer's command line (root namespace). */
  argv: string[];
  layer: DataLayer;
}

/** Size and on/off from the environment (EDGECHAOS_DATA_DIR_SIZE, EDGECHAOS_DATA_LAYER=off). */
export function dataDirSettings(env: NodeJS.ProcessEnv = process.env): {
  enabled: boolean;
  sizeBytes: number;
} {
  const layer = env['EDGECHAOS_DATA_LAYER'];
  if (layer !== undefined && !['on', 'off', ''].includes(layer))
    throw new UsageError(`EDGECHAOS_DATA_LAYER must be on or off, got "${layer}"`, {
      field: 'EDGECHAOS_DATA_LAYER',
    });
  const size = env['EDGECHAOS_DATA_DIR_SIZE'];
  const sizeBytes = size ? parseBytes(size, 'EDGECHAOS_DATA_DIR_SIZE') : defaultDataDirBytes;
  if (sizeBytes < 2 ** 20)
    throw new UsageError(`EDGECHAOS_DATA_DIR_SIZE must be at least 1MiB, got ${sizeBytes} B`, {
      field: 'EDGECHAOS_DATA_DIR_SIZE',
    });
  return { enabled: layer !== 'off', sizeBytes };
}

/** Where each edge's disk, layer and control socket go (pure). */
export function planDataDirs(
  nodes: readonly Pick<LocalNodeState, 'name' | 'role' | 'dataDir'>[],
  opts: { runId: string; tool: string; sizeBytes: number; socketDir: string },
): DataDirPlan[] {
  return nodes
    .filter((n) => n.role === 'edge')
    .map((n, i) => {
      const backing = `${n.dataDir}.disk`;
      const socket = join(opts.socketDir, `${n.name}.sock`);
      if (socket.length > 100)
        throw new UsageError(`control socket path too long for a unix socket: ${socket}`, { node: n.name });
      return {
        node: n.name,
        backing,
        mount: n.dataDir,
        socket,
        sizeBytes: opts.sizeBytes,
        argv: [
          opts.tool,
          'mount',
          '-backing',
          backing,
          '-mount',
          n.dataDir,
          '-ctl',
          socket,
          '-seed',
          String(i + 1),
        ],
        layer: {
          ctl: [opts.tool, 'ctl', socket],
          tool: [opts.tool],
          backingDir: backing,
          sizeBytes: opts.sizeBytes,
        },
      };
    });
}

/** Mount a node's size-limited data disk (a tmpfs named `ec-disk-<node>`) at `path`. */
export const tmpfsMountArgv = (sizeBytes: number, node: string, path: string): string[] => [
  'mount',
  '-t',
  'tmpfs',
  '-o',
  `size=${sizeBytes},mode=0755`,
  `ec-disk-${node}`,
  path,
];

/** The ec-fusefs the stack build made (stack/build.sh). */
export function fusefsTool(): string {
  const p = join(repoRoot, 'stack', 'dist', 'bin', 'linux-amd64', 'ec-fusefs');
  if (!existsSync(p))
    throw new ToolMissingError('ec-fusefs', 'run scripts/bootstrap (stack/build.sh builds it)');
  return p;
}

/** Unmount everything at `path` (lazily: a dead FUSE layer or a busy tmpfs still goes). */
function revertMount(d: Record<string, unknown>): Promise<void> {
  const path = d['path'];
  if (typeof path !== 'string') throw new Error(`bad mount path ${String(path)}`);
  return unmountAll(path);
}
registerReverter('local-mount', revertMount);

/**
 * Set up every edge's disk and layer, each journaled before it exists (the mounts, then the layer
 * process, so a revert kills the layer before unmounting). Fills in `n.dataLayer`.
 */
export async function setupDataDirs(
  nodes: LocalNodeState[],
  opts: { registry: CleanupRegistry; runId: string; runDir: string; signal?: AbortSignal },
): Promise<CleanupHandle[]> {
  const settings = dataDirSettings();
  if (!settings.enabled) return [];
  const tool = fusefsTool();
  const socketDir = join(tmpdir(), `ecfs-${opts.runId}`);
  const plans = planDataDirs(nodes, { runId: opts.runId, tool, sizeBytes: settings.sizeBytes, socketDir });
  const { registry } = opts;
  const handles: CleanupHandle[] = [];
  handles.push(registry.add('dir', `fault-layer sockets of ${opts.runId}`, { path: socketDir }));
  mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  for (const p of plans) {
    mkdirSync(p.backing, { recursive: true });
    mkdirSync(p.mount, { recursive: true });
    handles.push(registry.add('local-mount', `data disk of ${p.node}`, { path: p.backing }));
    await run(tmpfsMountArgv(p.sizeBytes, p.node, p.backing));
    handles.push(registry.add('local-mount', `fault layer over ${p.node}'s data dir`, { path: p.mount }));
    const { proc, handle } = await spawnRegistered(registry, `ec-fusefs of ${p.node}`, p.argv, {
      logFile: join(opts.runDir, 'logs', `${p.node}-ec-fusefs.log`),
    });
    proc.child.unref();
    handles.push(handle);
    await Promise.race([
      waitFor(
        async () =>
          existsSync(p.socket) && (await run([...p.layer.ctl, 'status'], { allowFailure: true })).code === 0
            ? true
            : undefined,
        { signal: deadline(10_000, `${p.node}'s fault layer to answer`, opts.signal), intervalMs: 10 },
      ),
      proc.exited.then((e) => {
        throw new TargetError(`ec-fusefs exited (${e.code ?? e.signal}); see ${proc.logFile}`, {
          node: p.node,
        });
      }),
    ]);
    const n = nodes.find((x) => x.name === p.node)!;
    n.dataLayer = p.layer;
  }
  return handles;
}
