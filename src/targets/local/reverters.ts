import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { registerReverterSet } from '../../core/cleanup/reverters.ts';
import { killGroup, run } from '../../core/proc.ts';

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

export function registerLocalReverters(): void {
  registerReverterSet('local', {
    'netns-exec': revertNetnsExec,
    'cgroup-freeze': revertFreeze,
    sigstop: revertSigstop,
    'netns-set': revertNetnsSet,
    'link-set': revertLinkSet,
  });
}
registerLocalReverters();
