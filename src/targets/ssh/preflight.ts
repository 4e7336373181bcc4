import { ScenarioError, TargetError } from '../../core/errors.ts';
import type { InventoryHost } from './inventory.ts';

/** What a board offers, from `preflightScript`'s output (pure parsing). */
export interface BoardFacts {
  /** `uname -m` */
  machine: string;
  arch: 'amd64' | 'arm64' | 'unknown';
  kernel: string;
  root: boolean;
  /** The harness's address as the board sees it (from SSH_CLIENT). */
  client: string | undefined;
  /** The board's sshd port of this connection (from SSH_CONNECTION). */
  sshPort?: number | undefined;
  tools: Record<'nft' | 'tc' | 'setsid' | 'stress-ng' | 'systemd-run' | 'sha256sum' | 'runc', boolean>;
  systemd: boolean;
  cgroup: 'v1' | 'v2' | 'none';
  /** cgroup v1 controllers present (cpu, cpuacct, memory, freezer). */
  v1Controllers: string[];
  netem: boolean;
  /** Time namespaces (/proc/self/ns/time) and a util-linux `unshare` with --time/--monotonic (clock-skew). */
  timens?: boolean;
  /** /dev/fuse and tmpfs: the data-dir fault layer (ssh/data-layer.ts) of disk-full, io-error, power-loss. */
  fuse?: boolean;
  tmpfs?: boolean;
  memAvailableBytes: number | undefined;
  diskFreeBytes: number | undefined;
  /** The board's clock (ns since the epoch) when it ran the script. */
  clockNs: number | undefined;
}

export function archOfMachine(m: string): BoardFacts['arch'] {
  if (m === 'x86_64' || m === 'amd64') return 'amd64';
  if (m === 'aarch64' || m === 'arm64' || m === 'armv8l') return 'arm64';
  return 'unknown';
}

export function parsePreflight(text: string): BoardFacts {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  const flag = (k: string): boolean => kv.get(k) === '1';
  const num = (k: string): number | undefined => {
    const v = kv.get(k);
    return v && /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const machine = kv.get('arch') ?? '';
  const fs = kv.get('cgroupfs') ?? '';
  const v1 = ['cpu', 'cpuacct', 'memory', 'freezer'].filter((c) => flag(`cgroup_v1_${c}`));
  const kb = (k: string): number | undefined => {
    const v = num(k);
    return v === undefined ? undefined : v * 1024;
  };
  return {
    machine,
    arch: archOfMachine(machine),
    kernel: kv.get('kernel') ?? '',
    root: kv.get('user') === '0',
    client: kv.get('client') || undefined,
    sshPort: num('ssh_port'),
    tools: {
      nft: flag('has_nft'),
      tc: flag('has_tc'),
      setsid: flag('has_setsid'),
      'stress-ng': flag('has_stress-ng'),
      'systemd-run': flag('has_systemd-run'),
      sha256sum: flag('has_sha256sum'),
      runc: flag('has_runc'),
    },
    systemd: flag('systemd'),
    cgroup: fs === 'cgroup2fs' ? 'v2' : v1.length > 0 ? 'v1' : 'none',
    v1Controllers: v1,
    netem: flag('netem'),
    timens: flag('timens'),
    fuse: flag('fuse'),
    tmpfs: flag('tmpfs'),
    memAvailableBytes: kb('mem_available_kb'),
    diskFreeBytes: kb('disk_free_kb'),
    clockNs: num('clock_ns'),
  };
}

/** Minimums a board must meet before anything is put on it. */
export const preflightMinimums = { memAvailableBytes: 64 * 2 ** 20, diskFreeBytes: 100 * 2 ** 20 };

/**
 * Check a board against its inventory entry (pure). Errors name the inventory file and field (arch) or
 * the node (missing tools); warnings are facts worth a line in the log (no netem → toxiproxy latency).
 */
export function checkPreflight(h: InventoryHost, facts: BoardFacts, file: string): { warnings: string[] } {
  if (facts.arch !== h.arch)
    throw new ScenarioError(
      `${h.name} reports machine ${facts.machine || '?'} (${facts.arch}), the inventory says ${h.arch}`,
      { file, field: `hosts[${h.index}].arch`, node: h.name },
    );
  const warnings: string[] = [];
  const privileged = facts.root || h.sudo;
  if (!privileged)
    throw new TargetError(
      `${h.name}: logged in as a non-root user without sudo: true; faults (nft, cgroups) need root`,
      { node: h.name },
    );
  const missing = (['setsid', 'nft'] as const).filter((t) => !facts.tools[t]);
  if (missing.length)
    throw new TargetError(
      `${h.name}: missing on the board: ${missing.join(', ')} (install nftables, util-linux)`,
      {
        node: h.name,
      },
    );
  if (facts.cgroup === 'none')
    throw new TargetError(`${h.name}: no cgroup filesystem at /sys/fs/cgroup (metrics and pause need it)`, {
      node: h.name,
    });
  if (facts.cgroup === 'v1') {
    const lack = ['cpuacct', 'memory', 'freezer'].filter((c) => !facts.v1Controllers.includes(c));
    if (lack.length)
      throw new TargetError(`${h.name}: cgroup v1 controllers missing: ${lack.join(', ')}`, { node: h.name });
  }
  if (facts.memAvailableBytes !== undefined && facts.memAvailableBytes < preflightMinimums.memAvailableBytes)
    throw new TargetError(
      `${h.name}: only ${Math.round(facts.memAvailableBytes / 2 ** 20)} MiB memory available (need ${preflightMinimums.memAvailableBytes / 2 ** 20})`,
      { node: h.name },
    );
  if (facts.diskFreeBytes !== undefined && facts.diskFreeBytes < preflightMinimums.diskFreeBytes)
    throw new TargetError(
      `${h.name}: only ${Math.round(facts.diskFreeBytes / 2 ** 20)} MiB free under ${h.dir}`,
      { node: h.name },
    );
  if (!facts.netem)
    warnings.push(
      `${h.name}: no tc netem in kernel ${facts.kernel}: latency faults use toxiproxy on the uplink`,
    );
  if (!facts.timens)
    warnings.push(
      `${h.name}: no time namespaces (kernel ${facts.kernel} needs CONFIG_TIME_NS, util-linux unshare >= 2.36): clock-skew is refused on this deployment`,
    );
  if (!facts.tools['stress-ng'])
    warnings.push(`${h.name}: stress-ng absent: cpu/memory stress use the bundled ec-stress`);
  // Where the board has runc, a node runs the stack's image for its role as a container by default
  // (src/targets/ssh/oci.ts sshRuntimes); else the stack runs as a process, recorded per node in the
  // run record. Whether a board has runc: ssh-boards.json `ociRuntime`.
  warnings.push(
    h.local
      ? `${h.name}: the cloud runs on the harness machine (local: true): the hub runs as a process`
      : !facts.tools.runc
        ? `${h.name}: no OCI runtime (runc) on the board: the stack runs as a process here`
        : `${h.name}: runc present: the ${h.role === 'edge' ? 'edge' : 'hub'} image runs as a container here (unless --runtime process)`,
  );
  return { warnings };
}
