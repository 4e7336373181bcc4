import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgechaosError, ToolMissingError } from '../core/errors.ts';
import { repoRoot, toolCacheDir, toolsDir } from '../core/paths.ts';
import { cachedBuild, runGoBuild, treeHash, type CachedBuildResult } from '../tools/cached-build.ts';

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
  const h = treeHash(dir, `${lock.version} ${lock.etcd}\n`);
  return `kube ${lock.version} etcd ${lock.etcd} ${h.slice(0, 16)}`;
}

export type KubeInstallResult = CachedBuildResult;

/**
 * Make .tools/kube/<version>/bin hold this exact build: present → nothing; in the per-machine
 * cache → copy (seconds); otherwise run scripts/kube/build (niced) into the cache, then copy.
 */
export async function installKubeTools(logFile: string): Promise<KubeInstallResult> {
  const lock = readKubeLock();
  const want = kubeBuildStamp(lock);
  const local = join(toolsDir(), 'kube', lock.version);
  const cached = join(toolCacheDir(), `kube@${lock.version}`);
  const gomod = readFileSync(join(repoRoot, lock.module, 'go.mod'), 'utf8');
  if (!new RegExp(`^\\s*k8s\\.io/kubernetes ${lock.version.replace(/\./g, '\\.')}$`, 'm').test(gomod)) {
    throw new EdgechaosError(
      `${lock.module}/go.mod does not require k8s.io/kubernetes ${lock.version} (tools.lock.json kube.version)`,
      { file: join(lock.module, 'go.mod') },
    );
  }
  return cachedBuild({
    stamp: want,
    outputs: [{ cache: join(cached, 'bin'), dest: join(local, 'bin') }],
    cacheStamp: join(cached, 'stamp'),
    destStamp: join(local, 'stamp'),
    required: lock.binaries,
    build: ([bin]) =>
      runGoBuild([join(repoRoot, lock.module, 'build'), bin!], logFile, 'the Kubernetes control plane'),
  });
}
