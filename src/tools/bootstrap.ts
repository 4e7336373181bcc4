import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EdgechaosError, ExitCode } from '../core/errors.ts';
import { repoRoot, toolCacheDir, toolsDir } from '../core/paths.ts';
import { run } from '../core/proc.ts';
import { readToolsLock, type GoTool } from './lock.ts';
import { installKubeTools } from '../kube/tools.ts';
import { installEdgeScheduler } from '../scheduling/tools.ts';

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
  onStep?: (r: StepResult) => void;
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
  const t0 = Date.now();
  const bin = join(toolsDir(), 'bin');
  const target = join(bin, name);
  const want = stamp(tool);
  const stampFile = `${target}.version`;
  if (existsSync(target) && existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === want) {
    return { step: name, status: 'present', detail: want, ms: Date.now() - t0 };
  }
  const cacheBin = join(toolCacheDir(), `${name}@${tool.version}`);
  const cacheStamp = `${cacheBin}.version`;
  if (existsSync(cacheBin) && existsSync(cacheStamp) && readFileSync(cacheStamp, 'utf8').trim() === want) {
    copyFileSync(cacheBin, target);
    chmodSync(target, 0o755);
    writeFileSync(stampFile, want + '\n');
    return { step: name, status: 'cached', detail: want, ms: Date.now() - t0 };
  }
  const gobin = mkdtempSync(join(tmpdir(), `edgechaos-gobin-`));
  try {
    const argv = [
      'go',
      'install',
      '-trimpath',
      `-ldflags=-s -w${tool.ldflags ? ` ${tool.ldflags}` : ''}`,
      `${tool.module}/${tool.package}@${tool.version}`,
    ];
    await logged(name, argv, join(logDir, `${name}.log`), {
      ...process.env,
      GOBIN: gobin,
      CGO_ENABLED: '0',
      GOFLAGS: '-buildvcs=false',
    });
    const built = join(gobin, tool.package.split('/').pop()!);
    mkdirSync(toolCacheDir(), { recursive: true });
    copyFileSync(built, cacheBin);
    writeFileSync(cacheStamp, want + '\n');
    renameSync(built, target);
    writeFileSync(stampFile, want + '\n');
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
  return { step: name, status: 'built', detail: want, ms: Date.now() - t0 };
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
  if (!opts.skipApt) record(await ensureDebian(lock.debian, logDir, opts));
  for (const [name, tool] of Object.entries(lock.go)) record(await ensureGoTool(name, tool, logDir));
  if (opts.stack !== false) record(await buildStack(logDir));
  if (opts.kube) record(await ensureKube(logDir));
  if (opts.kube) record(await ensureEdgeScheduler(logDir));
  return results;
}
