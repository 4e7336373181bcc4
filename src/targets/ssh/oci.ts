import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { ScenarioError, TargetError, UsageError } from '../../core/errors.ts';
import { run } from '../../core/proc.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { archiveFor } from '../local/oci/arch.ts';
import { roleImage } from '../local/oci/node.ts';
import {
  containerSpec,
  defaultPath,
  envValue,
  mergeEnv,
  resolveUser,
  type RuntimeSpec,
} from '../local/oci/spec.ts';
import { checkEntrypoint, resolveInRootfs, unpackImage, type UnpackedImage } from '../local/oci/unpack.ts';
import type { SshBoard } from './board.ts';
import type { InventoryHost } from './inventory.ts';
import type { BoardFacts } from './preflight.ts';

/** An edge's container on its board: runc's state folder and the container id. */
export interface SshOci {
  root: string;
  id: string;
  image: string;
}

/** How a node's stack runs on its board, and why (recorded per node in the run record). */
export interface NodeRuntime {
  runtime: 'oci' | 'process';
  reason: string;
}

/**
 * How each node's stack runs (pure): as the local target decides (`--runtime`, EDGECHAOS_RUNTIME;
 * default `oci` when the manifest names an image for the node's role), on a board whose preflight
 * found runc; a board without runc falls back to the process, with the reason; so does the hub of a
 * cloud on the harness machine (`local: true`). `--runtime oci` where an edge board lacks runc (or the
 * manifest names no edge image) is one error naming those boards, before anything changes on any board.
 */
export function sshRuntimes(
  stack: Pick<StackManifest, 'file' | 'edge' | 'hub'>,
  boards: readonly {
    host: Pick<InventoryHost, 'name' | 'role'> & { local?: boolean };
    facts: Pick<BoardFacts, 'tools'>;
  }[],
  want: string | undefined = process.env['EDGECHAOS_RUNTIME'],
): Map<string, NodeRuntime> {
  if (want !== undefined && want !== 'oci' && want !== 'process')
    throw new UsageError(`--runtime must be oci or process, not "${want}"`, { field: 'runtime' });
  const edges = boards.filter((b) => b.host.role === 'edge');
  if (want === 'oci') {
    if (edges.length && roleImage(stack.edge) === undefined)
      throw new ScenarioError('--runtime oci needs an image for the edge role', {
        file: stack.file,
        field: 'edge.image',
      });
    const lacking = edges.filter((b) => !b.facts.tools.runc).map((b) => b.host.name);
    if (lacking.length)
      throw new TargetError(
        `--runtime oci: no OCI runtime (runc) on ${lacking.join(', ')}: install runc there, or run with --runtime process`,
        { node: lacking[0]! },
      );
  }
  const out = new Map<string, NodeRuntime>();
  for (const b of boards) {
    const role = b.host.role === 'cloud' ? 'hub' : 'edge';
    const proc = (reason: string): void => void out.set(b.host.name, { runtime: 'process', reason });
    if (want === 'process') proc('--runtime process');
    else if (roleImage(stack[role]) === undefined) proc(`the stack manifest names no ${role} image`);
    else if (b.host.local)
      proc('the cloud runs on the harness machine (local: true): the hub runs as a process');
    else if (!b.facts.tools.runc) proc('no OCI runtime (runc) on the board: fell back to the process');
    else
      out.set(b.host.name, {
        runtime: 'oci',
        reason: `runc on the board runs the ${role} image${want === 'oci' ? ' (--runtime oci)' : ''}`,
      });
  }
  return out;
}

/**
 * Undo of a container on a board: `runc delete -f`, then the cgroups runc created (relative to every
 * hierarchy, children first) in every hierarchy. Idempotent; journaled before the container exists.
 */
export function containerDeleteArgv(root: string, id: string, cgroups: readonly string[]): string[] {
  return [
    'sh',
    '-c',
    'r=$1 id=$2; shift 2; runc --root "$r" delete -f "$id" 2>/dev/null; for c in "$@"; do for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do rmdir "$h$c" 2>/dev/null; done; done; exit 0',
    'ec-ctr-delete',
    root,
    id,
    ...cgroups,
  ];
}

/** The contract's env vars of a stack argv built by stackSpecs (`env K=V … exe args`). */
export function envOfArgv(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (argv[0] !== 'env') return out;
  for (const a of argv.slice(1)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(a);
    if (!m) break;
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** Per image archive: its rootfs unpacked in the run dir and that rootfs as one tar (to copy to boards). */
export type ImageTars = Map<string, Promise<{ img: UnpackedImage; tar: string }>>;

/** Unpack an archive once per run, however many boards run it at once (the cache is one folder). */
function unpackOnce(
  images: ImageTars,
  archive: string,
  runDir: string,
): Promise<{ img: UnpackedImage; tar: string }> {
  let p = images.get(archive);
  if (!p) {
    p = (async () => {
      const img = await unpackImage(archive, join(runDir, 'oci', 'rootfs'));
      checkEntrypoint(img);
      const tar = join(runDir, 'oci', `${basename(dirname(img.rootfs))}-rootfs.tar`);
      mkdirSync(join(runDir, 'oci'), { recursive: true });
      await run(['tar', '-C', img.rootfs, '-cf', tar, '.']);
      return { img, tar };
    })();
    images.set(archive, p);
  }
  return p;
}

/**
 * The node's image (edge, or the hub's on the cloud board) made ready on its board: unpacked on the harness (the local target's layer applier,
 * cached in the run dir), copied as one tar into `<run>/oci/rootfs`, an OCI bundle whose container
 * shares the board's network, lives in a child (`ctr`) of the node's cgroups, reads its rootfs
 * read-only and writes only the data dir. Journaled before it exists: `runc delete -f`, then every
 * cgroup runc created. Returns the argv that runs it in the foreground (under ec-supervise).
 */
export async function prepareBoardImage(
  b: SshBoard,
  o: {
    registry: CleanupRegistry;
    runDir: string;
    runId: string;
    stack: StackManifest;
    env: Record<string, string>;
    /** The run's unpacked images, shared by the boards (each archive unpacked and tarred once). */
    images: ImageTars;
  },
): Promise<{ argv: string[]; oci: SshOci; handle: CleanupHandle }> {
  const l = b.layout;
  const role = b.host.role === 'cloud' ? 'hub' : 'edge';
  const dataKey = role === 'hub' ? 'HUB_DATA_DIR' : 'EDGE_DATA_DIR';
  const archive = archiveFor(roleImage(o.stack[role])!, b.host.arch, `${role}.image`);
  const { img, tar } = await unpackOnce(o.images, archive, o.runDir);
  const base = `${l.base}/oci`;
  const root = `${base}/runc`;
  const id = `ec-${o.runId}-${b.node}`;
  const cgroupName = `ec-${o.runId}-${b.node}`;
  const handle = o.registry.add(
    'ssh-exec',
    `container ${id} on ${b.node}`,
    b.undoData(containerDeleteArgv(root, id, [`${cgroupName}/ctr`, cgroupName])),
  );
  await b.conn.exec(['mkdir', '-p', `${base}/rootfs`, root]);
  await b.conn.upload(tar, `${base}/rootfs.tar`);
  await b.conn.exec(['tar', '-xf', `${base}/rootfs.tar`, '-C', `${base}/rootfs`]);
  await b.conn.exec(['rm', '-f', `${base}/rootfs.tar`]);
  const cfg = img.config;
  const read = (p: string): string => {
    const h = resolveInRootfs(img.rootfs, p);
    return h && existsSync(h) ? readFileSync(h, 'utf8') : '';
  };
  const user = resolveUser(cfg.user, read('/etc/passwd'), read('/etc/group'));
  const imageData = envValue(cfg.env, dataKey);
  const dataPath = imageData?.startsWith('/') ? imageData : '/data';
  const env = mergeEnv(envValue(cfg.env, 'PATH') ? [] : [`PATH=${defaultPath}`], cfg.env, o.stack[role].env, {
    ...o.env,
    [dataKey]: dataPath,
  });
  const spec = containerSpec({
    rootfs: `${base}/rootfs`,
    args: [...cfg.entrypoint, ...cfg.cmd],
    env,
    cwd: cfg.workingDir,
    uid: user.uid,
    gid: user.gid,
    hostname: b.node,
    netnsPath: '',
    cgroupsPath: `/${cgroupName}/ctr`,
    dataDir: { host: l.data, container: dataPath },
  });
  // the board's own network (as the stack process has it): no network namespace of its own
  spec.linux['namespaces'] = (spec.linux['namespaces'] as { type: string }[]).filter(
    (n) => n.type !== 'network',
  );
  await b.conn.exec(['sh', '-c', 'cat > "$1"', 'ec-put', `${base}/config.json`], {
    input: JSON.stringify(spec),
  });
  await b.conn.exec(['chown', `${user.uid}:${user.gid}`, l.data]);
  return {
    argv: ['runc', '--root', root, 'run', '--bundle', base, id],
    oci: { root, id, image: archive },
    handle,
  };
}

/**
 * The config.json of one start-up sample (pure): the deployed edge container's spec with a fresh data
 * dir on the board, its own listen port, offline, in its own child of the node's cgroups (beside the
 * running container's `ctr`), so the sample is the container that was submitted, started from the
 * rootfs already on the board.
 */
export function sampleSpec(
  deployed: RuntimeSpec,
  o: { env: Record<string, string>; dataHost: string; cgroupLeaf: string },
): RuntimeSpec {
  const proc = deployed.process as { env?: string[] };
  const keep = (proc.env ?? []).filter((kv) => !(kv.slice(0, kv.indexOf('=')) in o.env));
  const data = envValue(proc.env ?? [], 'EDGE_DATA_DIR');
  const cgroupsPath = String(deployed.linux['cgroupsPath']).replace(/\/[^/]+$/, `/${o.cgroupLeaf}`);
  return {
    ...deployed,
    process: { ...deployed.process, env: [...keep, ...Object.entries(o.env).map(([k, v]) => `${k}=${v}`)] },
    mounts: deployed.mounts.map((m) =>
      m.type === 'bind' && m.destination === data ? { ...m, source: o.dataHost } : m,
    ),
    linux: { ...deployed.linux, cgroupsPath },
  };
}
