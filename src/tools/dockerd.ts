import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../core/cleanup/registry.ts';
import { registerReverter } from '../core/cleanup/reverters.ts';
import { sleep } from '../core/deadline.ts';
import { EdgechaosError, ToolMissingError } from '../core/errors.ts';
import { logger } from '../core/logger.ts';
import { mountsAt } from '../core/mounts.ts';
import { repoRoot, toolsDir } from '../core/paths.ts';
import {
  isAlive,
  killGroup,
  pidsWithToken,
  processStartTime,
  run,
  spawnManaged,
  type ProcessIdentity,
  type RunResult,
} from '../core/proc.ts';

/**
 * edgechaos's private Docker engine on a machine without one (Kind's nodes are its containers):
 * Debian's dockerd with its own data-root, exec-root, pidfile and socket, and nothing that touches
 * the host's network setup (no iptables rules, no default bridge, no ip_forward). Started journaled
 * (kind "dockerd") so `edgechaos cleanup` stops it after a kill -9; stopping it removes every
 * container, network and volume it holds and keeps only its images (the cached Kind node image).
 */

const log = logger('dockerd');

export interface DockerdPaths {
  /** Persistent: data-root (images), log, daemon.json. */
  base: string;
  dataRoot: string;
  /** Volatile: exec-root, socket, pidfile, state. */
  runDir: string;
  execRoot: string;
  socket: string;
  pidfile: string;
  stateFile: string;
  logFile: string;
  configFile: string;
}

export function dockerdPaths(): DockerdPaths {
  const base = process.env['EDGECHAOS_DOCKERD_DIR'] ?? '/var/lib/edgechaos/dockerd';
  const runDir = process.env['EDGECHAOS_DOCKERD_RUN'] ?? '/run/edgechaos-dockerd';
  return {
    base,
    dataRoot: join(base, 'data'),
    runDir,
    execRoot: join(runDir, 'exec'),
    socket: join(runDir, 'docker.sock'),
    pidfile: join(runDir, 'dockerd.pid'),
    stateFile: join(runDir, 'state.json'),
    logFile: join(base, 'dockerd.log'),
    configFile: join(base, 'daemon.json'),
  };
}

/** The docker network kind puts its nodes on. */
export const KIND_NETWORK = 'kind';

export const dockerHostOf = (p: DockerdPaths): string => `unix://${p.socket}`;

/** A runc wrapper that drops CAP_SYS_RESOURCE from container specs (scripts/kind/files/runc-nosysres). */
export const NOSYSRES_RUNTIME = 'edgechaos-nosysres';

/** Pure: dockerd's command line. */
export function dockerdArgv(p: DockerdPaths, opts: { nosysres?: string } = {}): string[] {
  return [
    'dockerd',
    '--host',
    dockerHostOf(p),
    '--config-file',
    p.configFile,
    '--data-root',
    p.dataRoot,
    '--exec-root',
    p.execRoot,
    '--pidfile',
    p.pidfile,
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--bridge=none',
    '--storage-driver=overlay2',
    '--exec-opt',
    'native.cgroupdriver=cgroupfs',
    ...(opts.nosysres
      ? ['--add-runtime', `${NOSYSRES_RUNTIME}=${opts.nosysres}`, '--default-runtime', NOSYSRES_RUNTIME]
      : []),
  ];
}

/** Capability numbers (0..cap_last_cap) missing from a CapBnd hex mask. Pure. */
export function missingCaps(capBndHex: string, lastCap: number): number[] {
  const mask = BigInt(`0x${capBndHex.trim()}`);
  const out: number[] = [];
  for (let c = 0; c <= lastCap; c++) if ((mask & (1n << BigInt(c))) === 0n) out.push(c);
  return out;
}

export const CAP_SYS_RESOURCE = 24;

/**
 * The probe for `--privileged`: Docker grants a privileged container every capability the kernel
 * knows, and runc fails ("unable to apply caps") when one is outside this machine's bounding set.
 * Returns the missing capability numbers (empty on a normal machine).
 */
export function boundingSetGaps(): number[] {
  const status = readFileSync('/proc/self/status', 'utf8');
  const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  return bnd ? missingCaps(bnd, last) : [];
}

/** Whether a process here may lower its oom_score_adj below 0 (the kubelet's critical pods do). */
export async function negativeOomScoreAllowed(): Promise<boolean> {
  const r = await run(['sh', '-c', 'echo -1 > /proc/self/oom_score_adj'], { allowFailure: true });
  return r.code === 0;
}

export interface DockerdState {
  pid: number;
  startTime: string;
  version: string;
  /** VM workarounds applied to this engine, each with the probe result that asked for it. */
  workarounds: string[];
}

export function readDockerdState(p = dockerdPaths()): DockerdState | undefined {
  try {
    return JSON.parse(readFileSync(p.stateFile, 'utf8')) as DockerdState;
  } catch {
    return undefined;
  }
}

/** `docker` against the private engine. */
export function docker(args: readonly string[], p = dockerdPaths()): Promise<RunResult> {
  return run(['docker', '--host', dockerHostOf(p), ...args], { allowFailure: true });
}

async function engineVersion(host: string | undefined): Promise<string | undefined> {
  const r = await run(
    ['docker', ...(host ? ['--host', host] : []), 'version', '--format', '{{.Server.Version}}'],
    { allowFailure: true },
  ).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.trim() : undefined;
}

/** The engine Kind should use: one the environment already points at (a CI runner's), else none. */
export async function ambientEngine(): Promise<string | undefined> {
  if (process.env['EDGECHAOS_PRIVATE_DOCKERD'] === '1') return undefined;
  if (process.env['DOCKER_HOST'] === dockerHostOf(dockerdPaths())) return undefined;
  return engineVersion(undefined);
}

export interface DockerdHandle {
  /** DOCKER_HOST value of the engine. */
  host: string;
  version: string;
  /** True when this call started it (then `handle` stops it). */
  started: boolean;
  workarounds: string[];
  handle?: CleanupHandle;
}

const DOCKERD_HINT =
  'run `edgechaos bootstrap --kind` (installs Debian docker.io, containerd, runc; as root)';

/**
 * The private engine, running: reuse it when its socket answers; otherwise start it, journaled in
 * `registry` before the process exists. Sets process.env.DOCKER_HOST so kind, docker and the
 * cleanup reverters reach it.
 */
export async function ensureDockerd(
  registry: CleanupRegistry,
  opts: { kindNetwork?: boolean } = {},
): Promise<DockerdHandle> {
  const p = dockerdPaths();
  const host = dockerHostOf(p);
  const running = await engineVersion(host);
  if (running) {
    process.env['DOCKER_HOST'] = host;
    return { host, version: running, started: false, workarounds: readDockerdState(p)?.workarounds ?? [] };
  }
  if (!existsSync('/usr/sbin/dockerd')) throw new ToolMissingError('dockerd', DOCKERD_HINT);
  if (process.getuid?.() !== 0) throw new EdgechaosError(`the private dockerd needs root — ${DOCKERD_HINT}`);
  const workarounds: string[] = [];
  let nosysres: string | undefined;
  const gaps = boundingSetGaps();
  if (gaps.includes(CAP_SYS_RESOURCE)) {
    nosysres = join(toolsDir(), 'kind', 'runc-nosysres');
    mkdirSync(join(nosysres, '..'), { recursive: true });
    writeFileSync(nosysres, readFileSync(join(repoRoot, 'scripts', 'kind', 'files', 'runc-nosysres')), {
      mode: 0o755,
    });
    workarounds.push(
      `runc-nosysres: the capability bounding set lacks CAP_SYS_RESOURCE, so --privileged containers run without it`,
    );
  }
  mkdirSync(p.dataRoot, { recursive: true });
  mkdirSync(p.runDir, { recursive: true, mode: 0o700 });
  if (!existsSync(p.configFile)) writeFileSync(p.configFile, '{}\n');
  const token = `${registry.runId}.dockerd`;
  const handle = registry.add('dockerd', `private dockerd (${host})`, {
    token,
    socket: p.socket,
    pidfile: p.pidfile,
    execRoot: p.execRoot,
    dataRoot: p.dataRoot,
    runDir: p.runDir,
  });
  try {
    const proc = await spawnManaged(dockerdArgv(p, nosysres ? { nosysres } : {}), {
      logFile: p.logFile,
      token,
    });
    let version: string | undefined;
    for (let i = 0; i < 240 && !version; i++) {
      if (!proc.running) throw new EdgechaosError(`dockerd exited at start; see ${p.logFile}`);
      await sleep(250);
      version = await engineVersion(host);
    }
    if (!version)
      throw new EdgechaosError(`dockerd did not answer on ${p.socket} within 60 s; see ${p.logFile}`);
    // kind's own network would be dual-stack, and an IPv6 docker network turns on the HOST's IPv6
    // forwarding: create it IPv4-only first (kind reuses a network named "kind").
    const net =
      opts.kindNetwork === false
        ? undefined
        : await docker(['network', 'create', '--driver', 'bridge', KIND_NETWORK], p);
    if (net && net.code !== 0 && !/already exists/.test(net.stderr))
      throw new EdgechaosError(`docker network create ${KIND_NETWORK}: ${net.stderr.trim()}`);
    const state: DockerdState = { ...proc.identity, version, workarounds };
    writeFileSync(p.stateFile, JSON.stringify(state) + '\n');
    process.env['DOCKER_HOST'] = host;
    log.info(
      `private dockerd ${version} on ${host}${workarounds.length ? ` (${workarounds.join('; ')})` : ''}`,
    );
    return { host, version, started: true, workarounds, handle };
  } catch (err) {
    await handle.revert().catch(() => undefined);
    throw err;
  }
}

/** Mount points at or under one of `roots`, deepest first (from /proc/self/mountinfo). Pure. */
export function mountsUnder(mountinfo: string, roots: readonly string[]): string[] {
  return [...new Set(roots.flatMap((r) => mountsAt(r, mountinfo)))].sort((a, b) => b.length - a.length);
}

/**
 * Stop the private engine from journal data alone: remove every container (with its anonymous
 * volumes), network and volume it holds, SIGTERM dockerd, kill what is left of its tree (its
 * containerd, shims), unmount what it left mounted, and remove its exec-root and socket.
 */
async function revertDockerd(d: Record<string, unknown>): Promise<void> {
  const s = (k: string): string => {
    const v = d[k];
    if (typeof v !== 'string') throw new Error(`dockerd entry lacks "${k}"`);
    return v;
  };
  const host = `unix://${s('socket')}`;
  const dk = (args: string[]): Promise<RunResult> =>
    run(['docker', '--host', host, ...args], { allowFailure: true });
  if (await engineVersion(host)) {
    const ids = (await dk(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
    if (ids.length) await dk(['rm', '-f', '-v', ...ids]);
    const nets = (await dk(['network', 'ls', '--filter', 'type=custom', '-q'])).stdout
      .split('\n')
      .filter(Boolean);
    if (nets.length) await dk(['network', 'rm', ...nets]);
    const vols = (await dk(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
    if (vols.length) await dk(['volume', 'rm', '-f', ...vols]);
  }
  let ident: ProcessIdentity | undefined;
  try {
    const pid = Number(readFileSync(s('pidfile'), 'utf8').trim());
    const startTime = processStartTime(pid);
    if (startTime) ident = { pid, startTime };
  } catch {
    /* no pidfile: not running */
  }
  const token = s('token');
  if (ident && isAlive(ident)) {
    killGroup(ident.pid, 'SIGTERM');
    for (let i = 0; i < 200 && isAlive(ident); i++) await sleep(100);
  }
  let left = pidsWithToken(token);
  for (const pid of left) killGroup(pid, 'SIGKILL');
  for (let i = 0; i < 100 && (left = pidsWithToken(token)).length; i++) await sleep(100);
  if (left.length) throw new Error(`dockerd processes ${left.join(' ')} survived SIGKILL`);
  const roots = [s('execRoot'), s('dataRoot')];
  for (const m of mountsUnder(readFileSync('/proc/self/mountinfo', 'utf8'), roots))
    await run(['umount', '-l', m], { allowFailure: true });
  rmSync(s('execRoot'), { recursive: true, force: true });
  for (const f of [s('socket'), s('pidfile'), join(s('runDir'), 'state.json')]) rmSync(f, { force: true });
  try {
    rmdirSync(s('runDir'));
  } catch {
    /* not empty or gone */
  }
}

registerReverter('dockerd', revertDockerd);
