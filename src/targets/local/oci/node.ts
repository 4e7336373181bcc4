import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../../../core/cleanup/registry.ts';
import { ScenarioError, UsageError } from '../../../core/errors.ts';
import type { ManagedProcess } from '../../../core/proc.ts';
import { TOKEN_ENV } from '../../../core/proc.ts';
import type { RoleSpec, StackManifest } from '../../../stack/manifest.ts';
import type { LocalNodeState } from '../topology-plan.ts';
import { containerId, killContainer, runcBin, runContainer, runcRoot, writeBundle } from './runtime.ts';
import { containerSpec, defaultPath, envValue, mergeEnv, resolveUser } from './spec.ts';
import { archiveFor, emulatorFor, emulatorPath, type Arch } from './arch.ts';
import { checkEntrypoint, resolveInRootfs, unpackImage, type UnpackedImage } from './unpack.ts';

/** How a node's stack runs as a container (serialisable: part of the deployment state). */
export interface OciNodeState {
  id: string;
  bundle: string;
  root: string;
  image: string;
  imageId: string;
  cgroupsPath: string;
  /** Where the node's data dir is mounted inside the container. */
  dataPath: string;
  /** Owner and mode the data dir gets from the image's own directory at dataPath (as a fresh volume would). */
  dataOwner?: { uid: number; gid: number; mode: number };
  uid: number;
  gid: number;
  /** ms the image took to unpack for this run (0: reused the run's cached rootfs). */
  unpackMs: number;
  /** Set when the image's architecture is not the host's: it runs under qemu-user (timings are not scored). */
  emulated?: string;
}

export type Runtime = 'oci' | 'process';

/** `--runtime` (EDGECHAOS_RUNTIME): default `oci` for a role whose manifest names an image. */
export function runtimeFor(
  stack: Pick<StackManifest, 'file'> & { edge: RoleSpec; hub: RoleSpec },
  role: 'edge' | 'hub',
): Runtime {
  const want = process.env['EDGECHAOS_RUNTIME'];
  if (want !== undefined && want !== 'oci' && want !== 'process')
    throw new UsageError(`--runtime must be oci or process, not "${want}"`, { field: 'runtime' });
  const image = roleImage(stack[role]);
  if (want === 'process') return 'process';
  if (want === 'oci' && !image)
    throw new ScenarioError(`--runtime oci needs an image for the ${role} role`, {
      file: stack.file,
      field: `${role}.image`,
    });
  return image ? 'oci' : 'process';
}

/** The image archive a role names (manifest field `image`, already resolved to a path by loadStack). */
export function roleImage(r: RoleSpec): string | undefined {
  return (r as RoleSpec & { image?: string }).image;
}

/** The data-dir env var of a node (the contract's EDGE_DATA_DIR or HUB_DATA_DIR). */
function dataKey(n: LocalNodeState): string {
  const k = Object.keys(n.env).find((key) => n.env[key] === n.dataDir);
  if (!k) throw new Error(`${n.name}: no env var names the data dir`);
  return k;
}

export interface PrepareInput {
  registry: CleanupRegistry;
  stack: StackManifest;
  nodes: LocalNodeState[];
  runId: string;
  runDir: string;
  stackToken: string;
  /** The architecture a node asks for (topology `arch`); default: the manifest's image as it is. */
  archOf?: (node: string) => Arch | undefined;
}

/**
 * For each node whose role runs as a container: journal the run's containers (kill + delete, their
 * cgroups, the bundles and rootfs cache) BEFORE anything is created, unpack each image once into the
 * run's cache, check its entrypoint, and write the node's bundle. Sets `node.oci`.
 */
export async function prepareOciNodes(
  inp: PrepareInput,
): Promise<{ handles: CleanupHandle[]; unpacked: UnpackedImage[] }> {
  const roleOf = (n: LocalNodeState): 'edge' | 'hub' => (n.role === 'cloud' ? 'hub' : 'edge');
  const nodes = inp.nodes.filter((n) => runtimeFor(inp.stack, roleOf(n)) === 'oci');
  if (nodes.length === 0) return { handles: [], unpacked: [] };
  runcBin();
  const ociDir = join(inp.runDir, 'oci');
  const plans = nodes.map((n) => ({
    n,
    id: containerId(inp.runId, n.name),
    cgroupsPath: `/${basename(n.cgroups.memory)}/ctr`,
  }));
  const handle = inp.registry.add('oci-containers', `containers of ${inp.runId}`, {
    root: runcRoot,
    ids: plans.map((p) => p.id),
    cgroupsPaths: plans.map((p) => p.cgroupsPath),
    paths: [ociDir],
    runDir: inp.runDir,
  });
  const unpacked = new Map<string, UnpackedImage>();
  for (const p of plans) {
    const named = roleImage(inp.stack[roleOf(p.n)])!;
    const arch = inp.archOf?.(p.n.name);
    const archive = arch ? archiveFor(named, arch, `nodes.${p.n.name}.arch`) : named;
    let img = unpacked.get(archive);
    if (!img) {
      img = await unpackImage(archive, join(ociDir, 'rootfs'));
      unpacked.set(archive, img);
      checkEntrypoint(img);
    }
    p.n.oci = bundleFor(p.n, img, {
      id: p.id,
      cgroupsPath: p.cgroupsPath,
      bundle: join(ociDir, 'bundles', p.n.name),
      token: `${inp.stackToken}.${p.n.name}.ctr`,
      roleEnv: inp.stack[roleOf(p.n)].env,
    });
  }
  return { handles: [handle], unpacked: [...unpacked.values()] };
}

/** Write the bundle of one container of node `n` from an unpacked image (also used for cold-start samples). */
export function bundleFor(
  n: Pick<LocalNodeState, 'name' | 'netns' | 'env' | 'dataDir'>,
  img: UnpackedImage,
  o: { id: string; cgroupsPath: string; bundle: string; token: string; roleEnv: Record<string, string> },
): OciNodeState {
  const cfg = img.config;
  const key = dataKey(n as LocalNodeState);
  const imagePath = envValue(cfg.env, key);
  const dataPath = imagePath?.startsWith('/') ? imagePath : '/data';
  const read = (p: string): string => {
    const h = resolveInRootfs(img.rootfs, p);
    return h && existsSync(h) ? readFileSync(h, 'utf8') : '';
  };
  let user: { uid: number; gid: number };
  try {
    user = resolveUser(cfg.user, read('/etc/passwd'), read('/etc/group'));
  } catch (err) {
    throw new ScenarioError((err as Error).message, { file: cfg.file, field: 'config.User' });
  }
  const inImage = resolveInRootfs(img.rootfs, dataPath);
  const st = inImage && existsSync(inImage) ? statSync(inImage) : undefined;
  const contract = Object.fromEntries(
    Object.entries(n.env).map(([k, v]) => [k, v === n.dataDir ? dataPath : v]),
  );
  const env = mergeEnv(
    envValue(cfg.env, 'PATH') ? [] : [`PATH=${defaultPath}`],
    cfg.env,
    o.roleEnv,
    contract,
    { [TOKEN_ENV]: o.token },
  );
  const qemu = emulatorFor(cfg.architecture, cfg.file);
  const args = [...cfg.entrypoint, ...cfg.cmd];
  const spec = containerSpec({
    rootfs: img.rootfs,
    // an emulated image: the emulator (bind-mounted read-only) runs the entrypoint, found in the rootfs
    args: qemu ? [emulatorPath, checkEntrypoint(img).path, ...args.slice(1)] : args,
    ...(qemu ? { extraMounts: [{ host: qemu, container: emulatorPath }] } : {}),
    env,
    cwd: cfg.workingDir,
    uid: user.uid,
    gid: user.gid,
    hostname: n.name,
    netnsPath: `/var/run/netns/${n.netns}`,
    cgroupsPath: o.cgroupsPath,
    dataDir: { host: n.dataDir, container: dataPath },
  });
  writeBundle(o.bundle, spec);
  return {
    id: o.id,
    bundle: o.bundle,
    root: runcRoot,
    image: cfg.file,
    imageId: cfg.id,
    cgroupsPath: o.cgroupsPath,
    dataPath,
    ...(st?.isDirectory() ? { dataOwner: { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 } } : {}),
    uid: user.uid,
    gid: user.gid,
    unpackMs: img.unpackMs,
    ...(qemu ? { emulated: cfg.architecture } : {}),
  };
}

/** Start the node's container (data dir created with the image's owner and mode first). */
export async function runNodeContainer(
  o: OciNodeState,
  dataDir: string,
  logFile: string,
  token: string,
  /** A prefix for `runc run` (a time namespace: its children, the container too, inherit it). */
  prefix: readonly string[] = [],
): Promise<ManagedProcess> {
  mkdirSync(dataDir, { recursive: true });
  if (o.dataOwner) {
    chownSync(dataDir, o.dataOwner.uid, o.dataOwner.gid);
    chmodSync(dataDir, o.dataOwner.mode);
  }
  return runContainer(o.id, o.bundle, {
    logFile,
    token: `${token}.${randomBytes(3).toString('hex')}`,
    root: o.root,
    prefix,
  });
}

/** SIGTERM/SIGINT/SIGHUP go to the container's init only (as `docker stop` does); others to the group. */
export function signalsInit(sig: NodeJS.Signals): boolean {
  return sig === 'SIGTERM' || sig === 'SIGINT' || sig === 'SIGHUP';
}

export async function signalContainer(o: OciNodeState, sig: NodeJS.Signals): Promise<number> {
  return (await killContainer(o.id, sig, o.root)) ? 1 : 0;
}
