import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/core/proc.ts';

/**
 * Host state a Kind cluster must leave untouched: every readable sysctl under /proc/sys/kernel and
 * /proc/sys/vm, fs.file-max and fs.nr_open, IP forwarding, conntrack max, bridge-nf-call-*, the
 * iptables FORWARD policy, the nft tables and the network namespaces. Counters that move by
 * themselves (entropy, last pid, pty count, random uuids) are left out by name.
 */
const VOLATILE = [
  /^kernel\/random\//,
  /^kernel\/ns_last_pid$/,
  /^kernel\/pty\/nr$/,
  /^kernel\/sched_domain\//,
  /^fs\/dentry-state$/,
  /^vm\/stat_refresh$/,
];

function sysctlTree(root: string, prefix: string, out: Map<string, string>): void {
  const dir = join(root, prefix);
  for (const name of readdirSync(dir)) {
    const rel = `${prefix}/${name}`;
    if (VOLATILE.some((re) => re.test(rel))) continue;
    const p = join(root, rel);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) sysctlTree(root, rel, out);
    else if (st.mode & 0o444) {
      try {
        out.set(rel, readFileSync(p, 'utf8').trim());
      } catch {
        /* write-only or permission-restricted */
      }
    }
  }
}

export type HostState = Map<string, string>;

export async function hostState(): Promise<HostState> {
  const s: HostState = new Map();
  sysctlTree('/proc/sys', 'kernel', s);
  sysctlTree('/proc/sys', 'vm', s);
  for (const f of [
    'fs/file-max',
    'fs/nr_open',
    'net/ipv4/ip_forward',
    'net/ipv6/conf/all/forwarding',
    'net/ipv6/conf/default/forwarding',
    'net/netfilter/nf_conntrack_max',
  ]) {
    const p = join('/proc/sys', f);
    if (existsSync(p)) s.set(f, readFileSync(p, 'utf8').trim());
  }
  if (existsSync('/proc/sys/net/bridge')) sysctlTree('/proc/sys', 'net/bridge', s);
  const fwd = await run(['iptables', '-S', 'FORWARD'], { allowFailure: true });
  s.set(
    'iptables FORWARD policy',
    fwd.stdout.split('\n').find((l) => l.startsWith('-P')) ?? fwd.stderr.trim(),
  );
  // Namespaces and tables named the way edgechaos's own targets and tests name theirs (ec-<run>-<node>,
  // ecs-…, ecdoc-…, ec_* tables) belong to other runs on a shared machine, never to Kind or Docker.
  const nft = await run(['nft', 'list', 'tables'], { allowFailure: true });
  const tables = nft.stdout.split('\n').filter((l) => l && !/ ec_\S*$/.test(l));
  s.set('nft tables', tables.sort().join(', '));
  const ns = await run(['ip', 'netns', 'list'], { allowFailure: true });
  const names = ns.stdout.split('\n').map((l) => l.split(' ')[0]!);
  s.set(
    'network namespaces',
    names
      .filter((n) => n && !/^ec(s|doc)?-/.test(n))
      .sort()
      .join(', '),
  );
  return s;
}

/** Pure: every key whose value differs (or appeared / went away), as "key: before → after". */
export function hostDiff(before: HostState, after: HostState): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys]
    .filter((k) => before.get(k) !== after.get(k))
    .sort()
    .map((k) => `${k}: ${before.get(k) ?? '(absent)'} → ${after.get(k) ?? '(absent)'}`);
}
