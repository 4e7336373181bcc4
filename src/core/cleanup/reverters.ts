import { existsSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { sleep } from '../deadline.ts';
import { unmountAll } from '../mounts.ts';
import { isAlive, killGroup, pidsWithToken, processStartTime, run, type ProcessIdentity } from '../proc.ts';

/**
 * How to revert each kind of entry, from its data alone (so a different process can do it after a crash).
 * Every reverter is idempotent: reverting something already gone is success.
 */
export type Reverter = (data: Record<string, unknown>, opts?: RevertOptions) => Promise<void>;

export interface RevertOptions {
  /**
   * The forced path (second Ctrl-C): no graceful waits — processes get SIGKILL at once instead of
   * SIGTERM and a grace period. Reverters without a graceful step ignore it.
   */
  fast?: boolean;
}

const str = (d: Record<string, unknown>, k: string): string => {
  const v = d[k];
  if (typeof v !== 'string') throw new Error(`cleanup entry lacks string field "${k}"`);
  return v;
};

const gone = (stderr: string): boolean =>
  /No such file|Cannot find device|does not exist|not found|No such process|Invalid argument|Could not process rule/i.test(
    stderr,
  );

async function tolerant(argv: string[]): Promise<void> {
  const r = await run(argv, { allowFailure: true });
  if (r.code !== 0 && !gone(r.stderr)) throw new Error(`${argv.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * Kill a process we started, and everything it spawned: found by the cleanup token in their
 * environment (recorded before the spawn), and by pid + start time when known.
 */
async function revertProcess(d: Record<string, unknown>, opts: RevertOptions = {}): Promise<void> {
  const token = typeof d['token'] === 'string' ? d['token'] : undefined;
  const ident: ProcessIdentity | undefined =
    typeof d['pid'] === 'number' && typeof d['startTime'] === 'string'
      ? { pid: d['pid'], startTime: d['startTime'] }
      : undefined;
  // One scan of /proc/*/environ finds the processes; after a signal only those are watched.
  const scan = (): ProcessIdentity[] => {
    const found = new Map<number, ProcessIdentity>();
    for (const pid of token ? pidsWithToken(token) : []) {
      const startTime = processStartTime(pid);
      if (startTime !== undefined) found.set(pid, { pid, startTime });
    }
    if (ident && isAlive(ident)) found.set(ident.pid, ident);
    return [...found.values()];
  };
  let procs = scan();
  if (procs.length === 0) return;
  if (!opts.fast) {
    for (const p of procs) killGroup(p.pid, 'SIGTERM');
    procs = await waitGone(procs, 1500, scan);
  }
  for (const p of procs) killGroup(p.pid, 'SIGKILL');
  // 10 s: a process at its cgroup's memory limit can take seconds to exit after SIGKILL (its
  // pages are reclaimed first); 3 s was once too short in CI (the memory-stress fault's revert).
  procs = await waitGone(procs, 10_000, scan);
  if (procs.length) throw new Error(`process(es) ${procs.map((p) => p.pid).join(' ')} survived SIGKILL`);
}

/**
 * Wait until `procs` are gone (zombies count as gone): one /proc/<pid>/stat read per process
 * every 2 ms — it returns within milliseconds of the exit instead of the next 50 ms tick of a
 * full /proc scan — then one more scan for any process the list did not hold. The processes
 * still alive after `ms`.
 */
async function waitGone(
  procs: ProcessIdentity[],
  ms: number,
  scan: () => ProcessIdentity[],
): Promise<ProcessIdentity[]> {
  const end = Date.now() + ms;
  for (;;) {
    procs = procs.filter(isAlive);
    if (procs.length === 0 && (procs = scan()).length === 0) return [];
    if (Date.now() >= end) return procs;
    await sleep(2);
  }
}

async function revertNetns(d: Record<string, unknown>): Promise<void> {
  const name = str(d, 'name');
  // Kill anything still running inside, or the namespace lingers behind its processes.
  const pids = await run(['ip', 'netns', 'pids', name], { allowFailure: true });
  for (const p of pids.stdout.split(/\s+/).filter(Boolean)) killGroup(Number(p), 'SIGKILL');
  await tolerant(['ip', 'netns', 'delete', name]);
}

async function revertLink(d: Record<string, unknown>): Promise<void> {
  const ns = typeof d['netns'] === 'string' ? ['ip', 'netns', 'exec', d['netns']] : [];
  await tolerant([...ns, 'ip', 'link', 'delete', str(d, 'name')]);
}

async function revertNftTable(d: Record<string, unknown>): Promise<void> {
  const ns = typeof d['netns'] === 'string' ? ['ip', 'netns', 'exec', d['netns']] : [];
  if (ns.length) {
    const exists = await run(['ip', 'netns', 'list'], { allowFailure: true });
    if (!exists.stdout.split('\n').some((l) => l.split(' ')[0] === d['netns'])) return;
  }
  await tolerant([...ns, 'nft', 'delete', 'table', str(d, 'family'), str(d, 'name')]);
}

async function revertQdisc(d: Record<string, unknown>): Promise<void> {
  const ns = typeof d['netns'] === 'string' ? ['ip', 'netns', 'exec', d['netns']] : [];
  await tolerant([...ns, 'tc', 'qdisc', 'del', 'dev', str(d, 'dev'), 'root']);
}

/** Remove cgroup directories (v1 controllers or v2), killing and thawing what is inside first. */
async function revertCgroup(d: Record<string, unknown>): Promise<void> {
  const paths = (d['paths'] as string[] | undefined) ?? [];
  for (const p of paths) {
    if (!p.startsWith('/sys/fs/cgroup/'))
      throw new Error(`refusing to remove ${p}: not under /sys/fs/cgroup`);
  }
  for (const p of paths) {
    if (!existsSync(p)) continue;
    if (p.includes('/freezer/')) await tolerantWrite(`${p}/freezer.state`, 'THAWED');
    for (const pid of readPids(p)) killGroup(pid, 'SIGKILL');
  }
  for (const p of paths) {
    if (p.includes('/freezer/')) await tolerantWrite(`${p}/freezer.state`, 'THAWED');
    for (let i = 0; i < 60 && existsSync(p); i++) {
      for (const pid of readPids(p)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      try {
        rmdirSync(p);
      } catch {
        await sleep(50);
      }
    }
    if (existsSync(p)) throw new Error(`cgroup ${p} could not be removed`);
  }
}

function readPids(cg: string): number[] {
  try {
    return readFileSync(`${cg}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function tolerantWrite(file: string, value: string): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, value).catch(() => undefined);
}

/**
 * Remove a directory we made, after unmounting whatever is mounted under it: a forced revert (second
 * Ctrl-C) can run while a setup's `mount` is still in flight, and its mount then lands after the
 * mount's own revert found nothing (seen: rmdir EBUSY on a data disk, the tmpfs left mounted). A
 * recursive remove never walks into a mount: it would delete what the mount holds.
 */
async function revertDir(d: Record<string, unknown>): Promise<void> {
  const p = resolve(str(d, 'path'));
  const allowed = [resolve(tmpdir()), resolve(typeof d['root'] === 'string' ? d['root'] : tmpdir())];
  if (!allowed.some((a) => p.startsWith(a + '/')) || p.split('/').length < 3) {
    throw new Error(`refusing to remove ${p}: outside the allowed roots`);
  }
  for (let attempt = 0; ; attempt++) {
    await unmountAll(p);
    try {
      rmSync(p, { recursive: true, force: true });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a mount that landed between the unmount and the remove: unmount again
      if ((code !== 'EBUSY' && code !== 'ENOTEMPTY') || attempt >= 5) throw err;
    }
  }
}

/** DELETE on the toxiproxy API; an unreachable server has taken its proxies with it. */
async function httpDelete(url: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(3000) });
  } catch {
    return; // server gone → nothing left to revert
  }
  if (!res.ok && res.status !== 404) throw new Error(`DELETE ${url}: HTTP ${res.status}`);
}

const revertToxiproxyProxy: Reverter = (d) =>
  httpDelete(`${str(d, 'api')}/proxies/${encodeURIComponent(str(d, 'proxy'))}`);
const revertToxic: Reverter = (d) =>
  httpDelete(
    `${str(d, 'api')}/proxies/${encodeURIComponent(str(d, 'proxy'))}/toxics/${encodeURIComponent(str(d, 'toxic'))}`,
  );

/** Re-enable a proxy that a partition-by-toxiproxy disabled. */
const revertProxyDisabled: Reverter = async (d) => {
  const url = `${str(d, 'api')}/proxies/${encodeURIComponent(str(d, 'proxy'))}`;
  try {
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ enabled: true }),
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok && res.status !== 404) throw new Error(`POST ${url}: HTTP ${res.status}`);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('POST')) throw err;
  }
};

const reverters = new Map<string, Reverter>([
  ['process', revertProcess],
  ['netns', revertNetns],
  ['link', revertLink],
  ['nft-table', revertNftTable],
  ['qdisc', revertQdisc],
  ['cgroup', revertCgroup],
  ['dir', revertDir],
  ['toxiproxy-proxy', revertToxiproxyProxy],
  ['toxiproxy-toxic', revertToxic],
  ['toxiproxy-disabled', revertProxyDisabled],
]);

/** Targets and faults with their own kinds add reverters here at import time. */
export function registerReverter(kind: string, fn: Reverter): void {
  reverters.set(kind, fn);
}

const registeredSets = new Set<string>();

/** Register the reverters of one module (`set` names it) once; later calls for the same set do nothing. */
export function registerReverterSet(set: string, kinds: Record<string, Reverter>): void {
  if (registeredSets.has(set)) return;
  registeredSets.add(set);
  for (const [kind, fn] of Object.entries(kinds)) registerReverter(kind, fn);
}

export function reverterFor(kind: string): Reverter {
  const r = reverters.get(kind);
  if (!r) throw new Error(`no reverter for cleanup kind "${kind}"`);
  return r;
}
