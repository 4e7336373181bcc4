import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { run } from '../../core/proc.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { archiveFor } from '../local/oci/arch.ts';
import { roleImage } from '../local/oci/node.ts';
import { containerSpec, defaultPath, envValue, mergeEnv, resolveUser } from '../local/oci/spec.ts';
import { checkEntrypoint, resolveInRootfs, unpackImage } from '../local/oci/unpack.ts';
import type { SshBoard } from './board.ts';

/** An edge's container on its board: runc's state folder and the container id. */
export interface SshOci {
  root: string;
  id: string;
  image: string;
}

/**
 * Whether an edge board runs the stack's image: `--runtime oci` asked for explicitly
 * (EDGECHAOS_RUNTIME=oci; the ssh default stays the process), the manifest names an edge image, and
 * preflight found runc on the board.
 */
export function sshRunsImage(stack: StackManifest, b: SshBoard): boolean {
  return (
    process.env['EDGECHAOS_RUNTIME'] === 'oci' &&
    b.host.role === 'edge' &&
    b.facts.tools.runc &&
    roleImage(stack.edge) !== undefined
  );
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

/**
 * The edge's image made ready on its board: unpacked on the harness (the local target's layer applier,
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
  },
): Promise<{ argv: string[]; oci: SshOci; handle: CleanupHandle }> {
  const l = b.layout;
  const archive = archiveFor(roleImage(o.stack.edge)!, b.host.arch, 'edge.image');
  const img = await unpackImage(archive, join(o.runDir, 'oci', 'rootfs'));
  checkEntrypoint(img);
  const base = `${l.base}/oci`;
  const root = `${base}/runc`;
  const id = `ec-${o.runId}-${b.node}`;
  const cgroupName = `ec-${o.runId}-${b.node}`;
  const handle = o.registry.add(
    'ssh-exec',
    `container ${id} on ${b.node}`,
    b.undoData([
      'sh',
      '-c',
      'runc --root "$1" delete -f "$2" 2>/dev/null; for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do rmdir "$h$3/ctr" "$h$3" 2>/dev/null; done; exit 0',
      'ec-ctr-delete',
      root,
      id,
      cgroupName,
    ]),
  );
  const tar = join(o.runDir, 'oci', `${b.node}-rootfs.tar`);
  mkdirSync(join(o.runDir, 'oci'), { recursive: true });
  await run(['tar', '-C', img.rootfs, '-cf', tar, '.']);
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
  const imageData = envValue(cfg.env, 'EDGE_DATA_DIR');
  const dataPath = imageData?.startsWith('/') ? imageData : '/data';
  const env = mergeEnv(envValue(cfg.env, 'PATH') ? [] : [`PATH=${defaultPath}`], cfg.env, o.stack.edge.env, {
    ...o.env,
    EDGE_DATA_DIR: dataPath,
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
