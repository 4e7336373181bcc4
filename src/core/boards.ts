import { ScenarioError } from './errors.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * The one board table: each edge board once, with what the board itself has (what its kubelet would
 * report: cores, RAM, pods, arch — the embedded control plane's kwok nodes take these) and the budget
 * the harness gives the stack on it when it emulates the board on this host (a cgroup CPU quota in
 * host CPUs and a memory limit — the local target takes these).
 *
 * How the budgets were calibrated. Memory is what the board leaves to the stack: its RAM minus what its
 * stock OS (Raspberry Pi OS Lite, JetPack) uses at idle, the GPU's share of unified memory on the
 * Jetson, and room for the board's other workloads. CPU is the board's total multi-core throughput
 * relative to one core of the reference host (a 2-core x86-64 VM, ~2.5 GHz class), from published
 * per-core integer benchmark ratios (CoreMark/sysbench cpu): one Cortex-A72 @1.5 GHz ≈ 0.25-0.3 of a
 * modern x86 core, one Cortex-A53 @1 GHz ≈ 0.06-0.08, one Cortex-A57 @1.43 GHz ≈ 0.22. These are
 * approximations of throughput; a quota cannot reproduce per-core latency, cache sizes or the ARM ISA.
 * To recalibrate on another host, run the same single-threaded workload (e.g. `stress-ng --cpu 1
 * --cpu-method int64 --metrics`) on the board and on the host and scale `cpus` by the bogo-ops ratio;
 * or pass custom numbers (`custom:cpus=0.5,memory=512MiB`).
 */
export interface Board {
  title: string;
  arch: 'arm64' | 'amd64';
  cores: number;
  /** The board's RAM, as a Kubernetes quantity. */
  ram: string;
  /** Pods its kubelet would be configured for. */
  pods: number;
  /** What the stack gets when the board is emulated: host CPUs of quota, bytes of memory. */
  budget: { cpus: number; memoryBytes: number };
}

export const boards = {
  /** Raspberry Pi 4 Model B (4 GB): 4× A72 ≈ 1 host CPU; 1 GiB for the stack. */
  rpi4: {
    title: 'Raspberry Pi 4 Model B (4 GB)',
    arch: 'arm64',
    cores: 4,
    ram: '4Gi',
    pods: 32,
    budget: { cpus: 1.0, memoryBytes: 1 * GiB },
  },
  /**
   * Raspberry Pi Zero 2 W: 4× A53 @1 GHz ≈ 0.25 host CPU; 512 MB board minus OS and GPU split ≈
   * 256 MiB. Constrained by design: the low end.
   */
  'rpi-zero': {
    title: 'Raspberry Pi Zero 2 W',
    arch: 'arm64',
    cores: 4,
    ram: '512Mi',
    pods: 16,
    budget: { cpus: 0.25, memoryBytes: 256 * MiB },
  },
  /** NVIDIA Jetson Nano: 4× A57 ≈ 0.9 host CPU (1.0 with headroom); 4 GiB unified memory minus GPU/OS ≈ 2 GiB. */
  'jetson-nano': {
    title: 'NVIDIA Jetson Nano (4 GB)',
    arch: 'arm64',
    cores: 4,
    ram: '4Gi',
    pods: 32,
    budget: { cpus: 1.0, memoryBytes: 2 * GiB },
  },
  /** A fanless x86 edge box (Celeron/Atom class, 4 cores, 8 GB): 1.5 host CPUs, 2 GiB for the stack. */
  'x86-edge': {
    title: 'x86 edge box (4 cores, 8 GB)',
    arch: 'amd64',
    cores: 4,
    ram: '8Gi',
    pods: 64,
    budget: { cpus: 1.5, memoryBytes: 2 * GiB },
  },
} as const satisfies Record<string, Board>;

export type BoardName = keyof typeof boards;

export const boardNames = Object.keys(boards) as BoardName[];

export function isBoardName(name: string): name is BoardName {
  return Object.hasOwn(boards, name);
}

/** Bytes from "256MiB", "1GiB", "512M", "1.5G", "1000000" (bytes). */
export function parseBytes(text: string | number, field = 'memory'): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text <= 0)
      throw new ScenarioError(`${field} must be > 0 bytes, got ${text}`, { field });
    return Math.floor(text);
  }
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (!m)
    throw new ScenarioError(`${field}: cannot read "${text}" as a size (use e.g. 256MiB, 1GiB)`, { field });
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = {
    b: 1,
    k: 1024,
    kb: 1000,
    kib: 1024,
    m: MiB,
    mb: 1e6,
    mib: MiB,
    g: GiB,
    gb: 1e9,
    gib: GiB,
  };
  const v = Math.floor(Number(m[1]) * mult[unit]!);
  if (v <= 0) throw new ScenarioError(`${field} must be > 0 bytes, got "${text}"`, { field });
  return v;
}
