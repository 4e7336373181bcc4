import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { registerReverter } from '../../../core/cleanup/reverters.ts';
import { sleep } from '../../../core/deadline.ts';
import {
  isAlive,
  run,
  spawnManaged,
  type ManagedProcess,
  type ProcessIdentity,
  type RunResult,
} from '../../../core/proc.ts';
import { requireTool } from '../../../tools/find.ts';
import type { RuntimeSpec } from './spec.ts';

/** runc's state directory for edgechaos containers (tmpfs, gone on reboot like the containers). */
export const runcRoot = '/run/edgechaos/runc';

export const runcHint = 'apt-get install -y runc (edgechaos bootstrap installs it)';

export function runcBin(): string {
  return requireTool('runc', runcHint);
}

/** Container ids derive from the run id, so two runs never collide and cleanup finds them by name. */
export function containerId(runId: string, node: string, suffix?: string): string {
  return `ec-${runId}-${node}${suffix ? `-${suffix}` : ''}`;
}

export function writeBundle(dir: string, spec: RuntimeSpec): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

async function runc(args: string[], root = runcRoot): Promise<RunResult> {
  return run([runcBin(), '--root', root, ...args], { allowFailure: true });
}

const goneText = /does not exist|not found|no such file|container not running|no such process/i;

/** Signal the container's init (what `docker stop` does), not its process group. */
export async function killContainer(id: string, sig: string, root = runcRoot): Promise<boolean> {
  const r = await runc(['kill', id, sig.replace(/^SIG/, '')], root);
  if (r.code !== 0 && !goneText.test(r.stderr)) throw new Error(`runc kill ${id} ${sig}: ${r.stderr.trim()}`);
  return r.code === 0;
}

/** Remove the container's runc state (stopped or not). Idempotent. */
export async function deleteContainer(id: string, root = runcRoot): Promise<void> {
  const r = await runc(['delete', '--force', id], root);
  if (r.code !== 0 && !goneText.test(r.stderr)) throw new Error(`runc delete ${id}: ${r.stderr.trim()}`);
}

export async function containerState(
  id: string,
  root = runcRoot,
): Promise<{ status: string; pid: number } | undefined> {
  const r = await runc(['state', id], root);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as { status: string; pid: number };
}

/** Ids of containers in runc's state dir (for leftover counts). */
export function listContainers(root = runcRoot): string[] {
  return existsSync(root) ? readdirSync(root) : [];
}

/**
 * The init of a container as runc recorded it (state.json: `init_process_pid`, `init_process_start`,
 * the start time in clock ticks), or undefined when the file is missing or not runc's.
 */
export function recordedInit(stateJson: string): ProcessIdentity | undefined {
  let s: unknown;
  try {
    s = JSON.parse(stateJson);
  } catch {
    return undefined;
  }
  if (typeof s !== 'object' || s === null) return undefined;
  const pid = (s as Record<string, unknown>)['init_process_pid'];
  const start = (s as Record<string, unknown>)['init_process_start'];
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (typeof start !== 'number' && typeof start !== 'string') return undefined;
  return { pid, startTime: String(start) };
}

/**
 * Forget the runc state of a container whose init is dead (killed with its `runc run` parent, which
 * then never deleted it): its state directory only. The cgroup directories stay for the next start of
 * the same id, which joins them (the revert removes them at the end). Returns false, touching nothing,
 * when the init (same pid and start time) still lives or the state is unreadable: then only
 * `runc delete --force` is safe. This saves a `runc delete` (~12 ms) on each restart of a killed
 * container, e.g. clock-skew's kill-then-start.
 */
export function forgetDeadContainer(id: string, root = runcRoot, alive = isAlive): boolean {
  const dir = join(root, id);
  let text: string;
  try {
    text = readFileSync(join(dir, 'state.json'), 'utf8');
  } catch {
    return false;
  }
  const init = recordedInit(text);
  if (!init || alive(init)) return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * `runc run` in the foreground: runc stays the container's parent, forwards signals to it and exits
 * with its status, so the deployment sees the stack exit like a process's. Output goes to the log.
 * A stopped container of the same id (an earlier start of the node) is forgotten (its init dead) or
 * deleted first.
 */
export async function runContainer(
  id: string,
  bundle: string,
  opts: { logFile: string; token: string; root?: string; prefix?: readonly string[] },
): Promise<ManagedProcess> {
  const root = opts.root ?? runcRoot;
  mkdirSync(root, { recursive: true, mode: 0o700 });
  if (existsSync(join(root, id)) && !forgetDeadContainer(id, root)) await deleteContainer(id, root);
  return spawnManaged([...(opts.prefix ?? []), runcBin(), '--root', root, 'run', '--bundle', bundle, id], {
    logFile: opts.logFile,
    token: opts.token,
  });
}

const v1Root = '/sys/fs/cgroup';

/** cgroup directories runc makes for cgroupsPath under every mounted hierarchy (v1 and unified). */
export function cgroupDirsOf(cgroupsPath: string): string[] {
  const out: string[] = [];
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  for (const l of mounts) {
    const f = l.split(' ');
    if ((f[2] === 'cgroup' || f[2] === 'cgroup2') && f[1]?.startsWith(`${v1Root}/`))
      out.push(join(f[1], cgroupsPath));
  }
  return out;
}

/**
 * Revert of a run's containers: kill, `runc delete --force`, then remove the cgroup directories runc
 * created (leaf first; the parents it made in hierarchies edgechaos does not use too) and the
 * bundle/rootfs directories. Idempotent; used by teardown and by `edgechaos cleanup` after kill -9.
 */
async function revertContainers(d: Record<string, unknown>): Promise<void> {
  const root = typeof d['root'] === 'string' ? d['root'] : runcRoot;
  const ids = (d['ids'] as unknown[]).filter((x): x is string => typeof x === 'string');
  const cgroups = ((d['cgroupsPaths'] as unknown[] | undefined) ?? []).filter(
    (x): x is string => typeof x === 'string',
  );
  const paths = ((d['paths'] as unknown[] | undefined) ?? []).filter(
    (x): x is string => typeof x === 'string',
  );
  const runDir = typeof d['runDir'] === 'string' ? resolve(d['runDir']) : undefined;
  const failures: string[] = [];
  if (existsSync(root)) {
    for (const id of ids) {
      if (!existsSync(join(root, id))) continue;
      await killContainer(id, 'KILL', root).catch(() => undefined);
      for (let i = 0; i < 100; i++) {
        const s = await containerState(id, root);
        if (!s || s.status === 'stopped') break;
        await sleep(20);
      }
      await deleteContainer(id, root).catch((e: Error) => failures.push(e.message));
    }
  }
  for (const cp of cgroups) {
    if (!cp.startsWith('/ec-')) throw new Error(`refusing cgroup path ${cp}`);
    for (const leaf of cgroupDirsOf(cp)) {
      // the leaf, then its parents up to (not including) the hierarchy root, where empty
      const base = leaf.slice(0, leaf.length - cp.length);
      let p = leaf;
      while (p.length > base.length + 1) {
        try {
          rmdirSync(p);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          // a parent that is not empty is the board cgroup, removed by its own entry
          if (code !== 'ENOENT' && !(p !== leaf && (code === 'ENOTEMPTY' || code === 'EBUSY')))
            failures.push(`${p}: ${code}`);
        }
        p = p.slice(0, p.lastIndexOf('/'));
      }
    }
  }
  for (const p of paths) {
    const abs = resolve(p);
    if (!runDir || !abs.startsWith(runDir + '/'))
      throw new Error(`refusing to remove ${abs}: outside the run dir`);
    rmSync(abs, { recursive: true, force: true });
  }
  if (failures.length) throw new Error(`containers not reverted: ${failures.join('; ')}`);
}

let registered = false;
export function registerOciReverters(): void {
  if (registered) return;
  registered = true;
  registerReverter('oci-containers', revertContainers);
}
registerOciReverters();

/**
 * OOM kills of container processes inside a board cgroup. cgroup v1 counts an OOM kill in the
 * victim's own memcg only (memory.oom_control of the board does not see kills in its `ctr` child,
 * and runc removes that child when the container ends), so they are read from the kernel log:
 * `oom-kill:…,oom_memcg=/<board>,task_memcg=/<board>/<child>,…` records (/dev/kmsg, as dmesg).
 */
export function containerOomKills(board: string): number {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return 0;
  }
  const buf = Buffer.alloc(8192);
  const needle = `task_memcg=/${board}/`;
  let n = 0;
  try {
    for (;;) {
      let len: number;
      try {
        len = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue; // records overwritten meanwhile
        break; // EAGAIN: the end of the log
      }
      if (len <= 0) break;
      const rec = buf.toString('utf8', 0, len);
      if (rec.includes('oom-kill:') && rec.includes(needle)) n++;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}
