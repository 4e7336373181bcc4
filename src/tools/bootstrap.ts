import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgechaosError, ExitCode } from '../core/errors.ts';
import { repoRoot, toolCacheDir, toolsDir } from '../core/paths.ts';
import { run } from '../core/proc.ts';
import { readToolsLock, type GoTool } from './lock.ts';
import { installKubeTools } from '../control-plane/tools.ts';
import { installEdgeScheduler } from '../scheduling/tools.ts';
import { cachedBuild } from './cached-build.ts';
import { bootstrapKind } from './kind-bootstrap.ts';
import { readKindLock } from './kind-image.ts';

export class BootstrapError extends EdgechaosError {
  override readonly exitCode = ExitCode.Environment;
  constructor(
    readonly tool: string,
    readonly argv: readonly string[],
    readonly logFile: string,
    detail: string,
  ) {
    super(`bootstrap of ${tool} failed: \`${argv.join(' ')}\` — ${detail}; see ${logFile}`);
  }
}

export interface StepResult {
  step: string;
  status: 'present' | 'installed' | 'built' | 'cached' | 'skipped';
  detail: string;
  ms: number;
}

export interface BootstrapOptions {
  /** Skip Debian packages (e.g. not root). */
  skipApt?: boolean;
  /** Also build the reference stack (stack/build.sh). */
  stack?: boolean;
  /** Also build the embedded Kubernetes control plane (scripts/kube; minutes cold, seconds cached). */
  kube?: boolean;
  /** Also Kind (implies kube): kind, the private dockerd, the offline node image (scripts/kind). */
  kind?: boolean;
  onStep?: (r: StepResult) => void;
}

/** Extra Linux arches a lock entry asks for (`"crossArch": ["arm64"]`, toxiproxy-server). */
export function crossArchOf(t: GoTool): ('amd64' | 'arm64')[] {
  const v = (t as GoTool & { crossArch?: unknown }).crossArch;
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((a) => a === 'amd64' || a === 'arm64'))
    throw new Error(`tools.lock.json: crossArch of ${t.module} must be a list of "amd64"/"arm64"`);
  return v as ('amd64' | 'arm64')[];
}

function stamp(t: GoTool): string {
  return `${t.module}/${t.package}@${t.version}${t.ldflags ? ` ldflags=${t.ldflags}` : ''}`;
}

async function logged(
  tool: string,
  argv: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<void> {
  const r = await run(argv, { env, cwd, allowFailure: true });
  writeFileSync(logFile, `$ ${argv.join(' ')}\n${r.stdout}${r.stderr}`, { flag: 'a' });
  if (r.code !== 0) throw new BootstrapError(tool, argv, logFile, `exit ${r.code}`);
}

export async function debianMissing(packages: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const p of packages) {
    const r = await run(['dpkg-query', '-W', '-f=${Status}', p], { allowFailure: true }).catch(
      () => undefined,
    );
    if (!r || !r.stdout.includes('install ok installed')) missing.push(p);
  }
  return missing;
}

async function ensureDebian(
  packages: readonly string[],
  logDir: string,
  opts: BootstrapOptions,
): Promise<StepResult> {
  const t0 = Date.now();
  const missing = await debianMissing(packages);
  if (missing.length === 0)
    return { step: 'debian', status: 'present', detail: packages.join(' '), ms: Date.now() - t0 };
  if (opts.skipApt || process.getuid?.() !== 0) {
    throw new EdgechaosError(
      `Debian packages missing: ${missing.join(' ')} — run as root: apt-get update && apt-get install -y ${missing.join(' ')}`,
    );
  }
  const logFile = join(logDir, 'apt.log');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await logged('apt', ['apt-get', 'update', '-qq'], logFile, env);
  await logged(
    'apt',
    ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing],
    logFile,
    env,
  );
  return { step: 'debian', status: 'installed', detail: missing.join(' '), ms: Date.now() - t0 };
}

/** Build one pinned Go tool into .tools/bin, reusing the per-machine cache when it holds that exact version. */
async function ensureGoTool(name: string, tool: GoTool, logDir: string): Promise<StepResult> {
  const target = join(toolsDir(), 'bin', name);
  const cacheBin = join(toolCacheDir(), `${name}@${tool.version}`);
  const r = await cachedBuild({
    stamp: stamp(tool),
    outputs: [{ cache: cacheBin, dest: target }],
    cacheStamp: `${cacheBin}.version`,
    destStamp: `${target}.version`,
    build: async ([out]) => {
      const gobin = mkdtempSync(join(tmpdir(), `edgechaos-gobin-`));
      try {
        await logged(name, goInstallArgv(tool), join(logDir, `${name}.log`), {
          ...process.env,
          GOBIN: gobin,
          CGO_ENABLED: '0',
          GOFLAGS: '-buildvcs=false',
        });
        copyFileSync(join(gobin, tool.package.split('/').pop()!), out!);
      } finally {
        rmSync(gobin, { recursive: true, force: true });
      }
    },
  });
  return { step: name, ...r };
}

/**
 * A pinned Go tool cross-built for another Linux arch (toxiproxy-server for arm64 cloud boards of the
 * ssh target): `.tools/bin/linux-<arch>/<name>`, static (CGO_ENABLED=0), same version and ldflags as
 * the native build, cached per machine as `<name>@<version>-linux-<arch>`. `go install` refuses GOBIN
 * for a cross build, so it installs into a throwaway GOPATH (sharing the module and build caches).
 */
export async function ensureGoToolCross(
  name: string,
  tool: GoTool,
  arch: 'amd64' | 'arm64',
  logDir: string,
): Promise<StepResult> {
  const step = `${name} (linux/${arch})`;
  const dir = join(toolsDir(), 'bin', `linux-${arch}`);
  const target = join(dir, name);
  const want = `${stamp(tool)} GOOS=linux GOARCH=${arch}`;
  const cacheBin = join(toolCacheDir(), `${name}@${tool.version}-linux-${arch}`);
  const r = await cachedBuild({
    stamp: want,
    outputs: [{ cache: cacheBin, dest: target }],
    cacheStamp: `${cacheBin}.version`,
    destStamp: `${target}.version`,
    build: async ([out]) => {
      const gopath = mkdtempSync(join(tmpdir(), `edgechaos-gopath-`));
      try {
        const env = await run(['go', 'env', 'GOMODCACHE', 'GOCACHE']);
        const [modCache, buildCache] = env.stdout.trim().split('\n');
        await logged(step, goInstallArgv(tool), join(logDir, `${name}-linux-${arch}.log`), {
          ...process.env,
          GOPATH: gopath,
          GOMODCACHE: modCache ?? '',
          GOCACHE: buildCache ?? '',
          GOBIN: '',
          GOOS: 'linux',
          GOARCH: arch,
          CGO_ENABLED: '0',
          GOFLAGS: '-buildvcs=false',
        });
        const sub = process.arch === (arch === 'amd64' ? 'x64' : 'arm64') ? '' : `linux_${arch}`;
        copyFileSync(join(gopath, 'bin', sub, tool.package.split('/').pop()!), out!);
      } finally {
        // The module cache marks files read-only; only this GOPATH's own bin/ is in it.
        rmSync(gopath, { recursive: true, force: true });
      }
    },
  });
  return { step, ...r };
}

async function buildStack(logDir: string): Promise<StepResult> {
  const t0 = Date.now();
  const script = join(repoRoot, 'stack', 'build.sh');
  if (!existsSync(script))
    return { step: 'stack', status: 'skipped', detail: 'stack/build.sh not present', ms: 0 };
  const logFile = join(logDir, 'stack.log');
  writeFileSync(logFile, '');
  await logged('stack', ['bash', script], logFile, process.env, join(repoRoot, 'stack'));
  return { step: 'stack', status: 'built', detail: 'stack/dist', ms: Date.now() - t0 };
}

/** The embedded control plane (etcd, kube-apiserver, -controller-manager, -scheduler) into .tools/kube/. */
export async function ensureKube(logDir: string): Promise<StepResult> {
  const r = await installKubeTools(join(logDir, 'kube.log'));
  return { step: 'kube', ...r };
}

/** The edge scheduler (stack/scheduler) into .tools/bin/; after the control plane, whose Go build cache it reuses. */
export async function ensureEdgeScheduler(logDir: string): Promise<StepResult> {
  const r = await installEdgeScheduler(join(logDir, 'edge-scheduler.log'));
  return { step: 'edge-scheduler', ...r };
}

/** Idempotent: a second run with everything present finishes in seconds. */
export async function bootstrap(opts: BootstrapOptions = {}): Promise<StepResult[]> {
  const lock = readToolsLock();
  const logDir = join(toolsDir(), 'logs');
  mkdirSync(join(toolsDir(), 'bin'), { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const results: StepResult[] = [];
  const record = (r: StepResult): void => {
    results.push(r);
    opts.onStep?.(r);
  };
  const debian = opts.kind ? [...lock.debian, ...readKindLock().debian] : lock.debian;
  if (!opts.skipApt) record(await ensureDebian(debian, logDir, opts));
  for (const [name, tool] of Object.entries(lock.go)) {
    record(await ensureGoTool(name, tool, logDir));
    // toxiproxy-server also for the other board arch (the ssh target uploads it to the cloud board).
    for (const arch of crossArchOf(tool)) record(await ensureGoToolCross(name, tool, arch, logDir));
  }
  if (opts.stack !== false) record(await buildStack(logDir));
  if (opts.kube || opts.kind) record(await ensureKube(logDir));
  if (opts.kube || opts.kind) record(await ensureEdgeScheduler(logDir));
  if (opts.kind) await bootstrapKind(logDir, record);
  return results;
}

/** `go install` of a pinned tool: stripped, reproducible paths, its own -ldflags (version stamps). */
export function goInstallArgv(tool: GoTool): string[] {
  return [
    'go',
    'install',
    '-trimpath',
    `-ldflags=-s -w${tool.ldflags ? ` ${tool.ldflags}` : ''}`,
    `${tool.module}/${tool.package}@${tool.version}`,
  ];
}
