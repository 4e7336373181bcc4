import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { registerReverterSet } from '../../core/cleanup/reverters.ts';
import { sleep } from '../../core/deadline.ts';
import { killGroup, pidsWithToken, run } from '../../core/proc.ts';

/**
 * Cleanup kinds of the local target. Each reverts from its journaled data alone and is idempotent
 * (something already gone counts as reverted), so `edgechaos cleanup` can run them after a crash.
 */

const goneText =
  /No such file|Cannot find device|does not exist|not found|No such process|Invalid argument|Could not process rule|Cannot open network namespace/i;

const strings = (d: Record<string, unknown>, k: string): string[] => {
  const v = d[k];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Error(`cleanup entry lacks string array "${k}"`);
  return v;
};

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`) || existsSync(`/var/run/netns/${name}`);
}

/** Run an undo command inside a namespace; a namespace that is gone took the effect with it. */
async function revertNetnsExec(d: Record<string, unknown>): Promise<void> {
  const netns = d['netns'];
  if (typeof netns !== 'string') throw new Error('cleanup entry lacks "netns"');
  const argv = strings(d, 'argv');
  if (!netnsExists(netns)) return;
  const r = await run(['ip', 'netns', 'exec', netns, ...argv], { allowFailure: true });
  if (r.code !== 0 && !goneText.test(r.stderr))
    throw new Error(`${argv.join(' ')} in ${netns}: ${r.stderr.trim()}`);
}

/** Thaw a frozen cgroup (the pause fault). */
async function revertFreeze(d: Record<string, unknown>): Promise<void> {
  const path = d['path'];
  if (typeof path !== 'string' || !path.startsWith('/sys/fs/cgroup/freezer/'))
    throw new Error(`bad freezer path ${String(path)}`);
  if (!existsSync(path)) return;
  await writeFile(`${path}/freezer.state`, 'THAWED').catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}

/** SIGCONT processes a SIGSTOP pause stopped (by pid; harmless if they are gone). */
function revertSigstop(d: Record<string, unknown>): Promise<void> {
  const pids = d['pids'];
  if (Array.isArray(pids)) for (const p of pids) if (typeof p === 'number') killGroup(p, 'SIGCONT');
  return Promise.resolve();
}

/** Delete many namespaces (the nodes of one deployment), killing what still runs inside. */
async function revertNetnsSet(d: Record<string, unknown>): Promise<void> {
  const failures: string[] = [];
  for (const name of strings(d, 'names')) {
    if (!netnsExists(name)) continue;
    const pids = await run(['ip', 'netns', 'pids', name], { allowFailure: true });
    for (const p of pids.stdout.split(/\s+/).filter(Boolean)) killGroup(Number(p), 'SIGKILL');
    const r = await run(['ip', 'netns', 'delete', name], { allowFailure: true });
    if (r.code !== 0 && !goneText.test(r.stderr)) failures.push(`${name}: ${r.stderr.trim()}`);
  }
  if (failures.length) throw new Error(`netns delete failed: ${failures.join('; ')}`);
}

/** Delete many root-namespace links (host ends of veths, the bridge). */
async function revertLinkSet(d: Record<string, unknown>): Promise<void> {
  const names = strings(d, 'names');
  const lines = names.map((n) => `link delete ${n}`).join('\n') + '\n';
  // -force: keep going past links that are already gone.
  await run(['ip', '-force', '-batch', '-'], { input: lines, allowFailure: true });
  const left = await run(['ip', '-o', 'link', 'show'], { allowFailure: true });
  const still = names.filter((n) => left.stdout.includes(`: ${n}:`) || left.stdout.includes(`: ${n}@`));
  if (still.length) throw new Error(`links still present: ${still.join(' ')}`);
}

/** Whether a process runs in a time namespace with a non-zero offset (false once it is gone). */
export function inSkewedTimens(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/timens_offsets`, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .some((f) => f.length === 3 && (f[1] !== '0' || f[2] !== '0'));
  } catch {
    return false;
  }
}

/**
 * SIGKILL a node's processes that run in a skewed time namespace (the clock-skew fault): its stack
 * (by the harness token) and its cgroups' members; processes with unshifted clocks are spared.
 */
async function revertTimensKill(d: Record<string, unknown>): Promise<void> {
  const token = d['token'];
  if (typeof token !== 'string') throw new Error('cleanup entry lacks "token"');
  for (let round = 0; round < 3; round++) {
    const pids = new Set(pidsWithToken(token));
    for (const f of strings(d, 'cgroupProcs'))
      for (const p of (await readFile(f, 'utf8').catch(() => '')).split('\n').filter(Boolean))
        pids.add(Number(p));
    const skewed = [...pids].filter(inSkewedTimens);
    if (skewed.length === 0) return;
    for (const p of skewed) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await sleep(20);
  }
  const left = [...pidsWithToken(token)].filter(inSkewedTimens);
  if (left.length) throw new Error(`skewed processes survived SIGKILL: ${left.join(' ')}`);
}

export function registerLocalReverters(): void {
  registerReverterSet('local', {
    'netns-exec': revertNetnsExec,
    'cgroup-freeze': revertFreeze,
    sigstop: revertSigstop,
    'netns-set': revertNetnsSet,
    'link-set': revertLinkSet,
    'timens-kill': revertTimensKill,
  });
}
registerLocalReverters();
