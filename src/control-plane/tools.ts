import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { EdgechaosError, ToolMissingError } from '../core/errors.ts';
import { repoRoot, toolCacheDir, toolsDir } from '../core/paths.ts';
import { run } from '../core/proc.ts';

/** The "kube" entry of tools.lock.json: the embedded control plane built from scripts/kube. */
export interface KubeLock {
  version: string;
  etcd: string;
  module: string;
  binaries: string[];
}

export const KUBE_INSTALL_HINT =
  'run `edgechaos bootstrap --kube` (or scripts/kube/build): it builds etcd and the Kubernetes control plane from Go modules into .tools/kube/ — about 10 minutes cold on 2 cores, seconds from the per-machine cache';

export function readKubeLock(path = join(repoRoot, 'tools.lock.json')): KubeLock {
  const raw = (JSON.parse(readFileSync(path, 'utf8')) as { kube?: Partial<KubeLock> }).kube;
  if (
    !raw ||
    typeof raw.version !== 'string' ||
    typeof raw.etcd !== 'string' ||
    typeof raw.module !== 'string' ||
    !Array.isArray(raw.binaries)
  ) {
    throw new EdgechaosError(`${path}: "kube" needs version, etcd, module and binaries`, {
      file: path,
      field: 'kube',
    });
  }
  return { version: raw.version, etcd: raw.etcd, module: raw.module, binaries: raw.binaries };
}

/** Where bootstrap puts the control-plane binaries of this checkout. */
export function kubeBinDir(lock = readKubeLock()): string {
  return join(toolsDir(), 'kube', lock.version, 'bin');
}

/** Path of one control-plane binary, or a ToolMissingError saying how to build it. */
export function kubeBinary(name: string, lock = readKubeLock()): string {
  const p = join(kubeBinDir(lock), name);
  try {
    accessSync(p, constants.X_OK);
  } catch {
    throw new ToolMissingError(name, KUBE_INSTALL_HINT);
  }
  return p;
}

/** Everything the build depends on, hashed: a change to the wrapper module rebuilds. */
export function kubeBuildStamp(lock = readKubeLock()): string {
  const dir = join(repoRoot, lock.module);
  const h = createHash('sha256').update(`${lock.version} ${lock.etcd}\n`);
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(`${relative(dir, p)}\0`).update(readFileSync(p));
    }
  };
  walk(dir);
  return `kube ${lock.version} etcd ${lock.etcd} ${h.digest('hex').slice(0, 16)}`;
}

function readStamp(dir: string): string | undefined {
  const f = join(dir, 'stamp');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}

/** Copy a bin/ tree (regular files and the hyperkube symlinks) into `to`, replacing it atomically. */
function copyTree(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'bin'), { recursive: true });
  for (const name of readdirSync(join(from, 'bin'))) {
    const src = join(from, 'bin', name);
    const dst = join(tmp, 'bin', name);
    if (lstatSync(src).isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else copyFileSync(src, dst);
  }
  copyFileSync(join(from, 'stamp'), join(tmp, 'stamp'));
  rmSync(to, { recursive: true, force: true });
  mkdirSync(join(to, '..'), { recursive: true });
  renameSync(tmp, to);
}

export interface KubeInstallResult {
  status: 'present' | 'cached' | 'built';
  detail: string;
  ms: number;
}

/**
 * Make .tools/kube/<version>/bin hold this exact build: present → nothing; in the per-machine
 * cache → copy (seconds); otherwise run scripts/kube/build (niced) into the cache, then copy.
 */
export async function installKubeTools(logFile: string): Promise<KubeInstallResult> {
  const t0 = Date.now();
  const lock = readKubeLock();
  const want = kubeBuildStamp(lock);
  const local = join(toolsDir(), 'kube', lock.version);
  const complete = (dir: string): boolean =>
    readStamp(dir) === want && lock.binaries.every((b) => existsSync(join(dir, 'bin', b)));
  if (complete(local)) return { status: 'present', detail: want, ms: Date.now() - t0 };
  const cached = join(toolCacheDir(), `kube@${lock.version}`);
  if (complete(cached)) {
    copyTree(cached, local);
    return { status: 'cached', detail: want, ms: Date.now() - t0 };
  }
  const gomod = readFileSync(join(repoRoot, lock.module, 'go.mod'), 'utf8');
  if (!new RegExp(`^\\s*k8s\\.io/kubernetes ${lock.version.replace(/\./g, '\\.')}$`, 'm').test(gomod)) {
    throw new EdgechaosError(
      `${lock.module}/go.mod does not require k8s.io/kubernetes ${lock.version} (tools.lock.json kube.version)`,
      { file: join(lock.module, 'go.mod') },
    );
  }
  const staging = `${cached}.build-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(join(staging, 'bin'), { recursive: true });
  try {
    const argv = ['nice', '-n', '10', 'bash', join(repoRoot, lock.module, 'build'), join(staging, 'bin')];
    const r = await run(argv, {
      allowFailure: true,
      env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin` },
    });
    writeFileSync(logFile, `$ ${argv.join(' ')}\n${r.stdout}${r.stderr}`, { flag: 'a' });
    if (r.code !== 0) {
      throw new EdgechaosError(
        `building the Kubernetes control plane failed (exit ${r.code}); see ${logFile}`,
      );
    }
    writeFileSync(join(staging, 'stamp'), want + '\n');
    rmSync(cached, { recursive: true, force: true });
    renameSync(staging, cached);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  copyTree(cached, local);
  return { status: 'built', detail: want, ms: Date.now() - t0 };
}
