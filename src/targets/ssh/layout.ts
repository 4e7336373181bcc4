import type { BoardFacts } from './preflight.ts';

/**
 * Where a run lives on a board (pure): everything under `<dir>/<runId>/` (bin, logs, run state, data,
 * fault leases), plus the node's cgroup(s), named `ec-<runId>-<node>` like the local target's.
 */
export interface BoardLayout {
  base: string;
  bin: string;
  logs: string;
  run: string;
  leases: string;
  heartbeat: string;
  data: string;
  /** cgroup directories of the node (one per v1 controller, or the v2 one). */
  cgroups: string[];
  /** The directory holding freezer.state (v1) / cgroup.freeze (v2). */
  freezer: string | undefined;
  cgroupVersion: 'v1' | 'v2';
}

export const v1Controllers = ['cpu', 'cpuacct', 'memory', 'freezer'] as const;

export function boardLayout(
  dir: string,
  runId: string,
  node: string,
  facts: Pick<BoardFacts, 'cgroup' | 'v1Controllers'>,
): BoardLayout {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/.test(runId)) throw new Error(`bad run id "${runId}"`);
  const base = `${dir.replace(/\/+$/, '')}/${runId}`;
  const name = `ec-${runId}-${node}`;
  const v2 = facts.cgroup === 'v2';
  const cgroups = v2
    ? [`/sys/fs/cgroup/${name}`]
    : v1Controllers.filter((c) => facts.v1Controllers.includes(c)).map((c) => `/sys/fs/cgroup/${c}/${name}`);
  return {
    base,
    bin: `${base}/bin`,
    logs: `${base}/logs`,
    run: `${base}/run`,
    leases: `${base}/leases`,
    heartbeat: `${base}/leases/heartbeat`,
    data: `${base}/data/${node}`,
    cgroups,
    freezer: v2 ? cgroups[0] : cgroups.find((c) => c.includes('/freezer/')),
    cgroupVersion: v2 ? 'v2' : 'v1',
  };
}

/** How a process outlives the ssh session: a transient systemd unit where systemd runs, else setsid. */
export function detachPrefix(systemd: boolean, unit: string): string[] {
  return systemd ? ['systemd-run', '--quiet', '--collect', `--unit=${unit}`, '--'] : ['setsid'];
}

/** Files `stats` reads for the cgroup version. */
export function statFiles(l: BoardLayout): string[] {
  if (l.cgroupVersion === 'v2') {
    const d = l.cgroups[0]!;
    return ['memory.peak', 'memory.current', 'memory.max', 'cpu.stat', 'memory.events'].map(
      (f) => `${d}/${f}`,
    );
  }
  const by = (c: string): string => l.cgroups.find((p) => p.includes(`/${c}/`)) ?? '';
  return [
    `${by('memory')}/memory.max_usage_in_bytes`,
    `${by('memory')}/memory.usage_in_bytes`,
    `${by('memory')}/memory.limit_in_bytes`,
    `${by('cpuacct')}/cpuacct.usage`,
    `${by('cpu')}/cpu.stat`,
    `${by('memory')}/memory.oom_control`,
  ];
}
