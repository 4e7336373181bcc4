import { parseDuration } from '../../core/duration.ts';
import { ScenarioError } from '../../core/errors.ts';
import type { BoardLimits } from '../types.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Board profiles: a cgroup v1 CPU quota (in host CPUs: cfs_quota_us / cfs_period_us) and a memory
 * limit per edge node.
 *
 * How they were calibrated. Memory is what the board leaves to applications: the board's RAM minus
 * what its stock OS (Raspberry Pi OS Lite, JetPack) uses at idle and, on the Jetson, the share the GPU
 * takes from the unified memory. CPU is the board's total multi-core throughput relative to one core
 * of the reference host (a 2-core x86-64 VM, ~2.5 GHz class), using published per-core integer
 * benchmark ratios (CoreMark/sysbench cpu): one Cortex-A72 @1.5 GHz ≈ 0.25-0.3 of a modern x86 core,
 * one ARM11 @1 GHz ≈ 0.06, one Cortex-A57 @1.43 GHz ≈ 0.22. These are approximations of throughput;
 * a quota cannot reproduce per-core latency, cache sizes or the ARM ISA. To recalibrate on another
 * host, run the same single-threaded workload (e.g. `stress-ng --cpu 1 --cpu-method int64 --metrics`)
 * on the board and on the host and scale `cpus` by the bogo-ops ratio; or pass custom numbers.
 */
export const boardProfiles: Readonly<Record<string, BoardLimits>> = {
  /** Raspberry Pi 4 Model B, 1 GiB variant: 4× A72 ≈ 1 host CPU; ~1 GiB usable. */
  rpi4: { cpus: 1.0, memoryBytes: 1 * GiB },
  /** Raspberry Pi Zero (W): 1× ARM11 ≈ 0.06 host CPU, rounded up to 0.25 so Go runtimes still start in
   * seconds; 512 MiB board minus OS and GPU split ≈ 256 MiB. Constrained by design: the low end. */
  'rpi-zero': { cpus: 0.25, memoryBytes: 256 * MiB },
  /** NVIDIA Jetson Nano: 4× A57 ≈ 0.9 host CPU (1.0 with headroom); 4 GiB unified memory minus GPU/OS ≈ 2 GiB. */
  'jetson-nano': { cpus: 1.0, memoryBytes: 2 * GiB },
  /** A fanless x86 edge box (Celeron/Atom class, 2-4 cores): 1.5 host CPUs, 2 GiB for the stack. */
  'x86-edge': { cpus: 1.5, memoryBytes: 2 * GiB },
};

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

/**
 * A profile by name, or custom numbers: `custom:cpus=0.5,memory=512MiB` or an object
 * `{cpus, memoryBytes}`. Errors name the field.
 */
export function resolveProfile(
  p: string | BoardLimits | undefined,
  field = 'profile',
): { name: string; limits: BoardLimits } {
  if (p === undefined) return { name: 'x86-edge', limits: boardProfiles['x86-edge']! };
  if (typeof p === 'object') return { name: 'custom', limits: checkLimits(p, field) };
  const known = boardProfiles[p];
  if (known) return { name: p, limits: known };
  const m = /^custom:(.*)$/.exec(p);
  if (!m)
    throw new ScenarioError(
      `unknown board profile "${p}" (known: ${Object.keys(boardProfiles).join(', ')}, or custom:cpus=0.5,memory=512MiB)`,
      { field },
    );
  const kv = Object.fromEntries(
    m[1]!.split(',').map((s) => {
      const [k, v] = s.split('=');
      return [k?.trim() ?? '', v?.trim() ?? ''];
    }),
  );
  for (const k of Object.keys(kv))
    if (!['cpus', 'memory', 'latency', 'jitter', 'rate'].includes(k))
      throw new ScenarioError(`custom profile: unknown key "${k}" (cpus, memory, latency, jitter, rate)`, {
        field,
      });
  if (kv['cpus'] === undefined || kv['memory'] === undefined)
    throw new ScenarioError('custom profile needs cpus= and memory=', { field });
  const uplink: NonNullable<BoardLimits['uplink']> = {};
  try {
    if (kv['latency']) uplink.latencyMs = parseDuration(kv['latency'], `${field}.latency`);
    if (kv['jitter']) uplink.jitterMs = parseDuration(kv['jitter'], `${field}.jitter`);
  } catch (e) {
    throw new ScenarioError((e as Error).message, { field });
  }
  if (kv['rate']) uplink.rateKbps = Number(kv['rate']);
  return {
    name: p,
    limits: checkLimits(
      {
        cpus: Number(kv['cpus']),
        memoryBytes: parseBytes(kv['memory'], `${field}.memory`),
        ...(Object.keys(uplink).length ? { uplink } : {}),
      },
      field,
    ),
  };
}

/**
 * The toxics (toxiproxy API bodies) that give an edge's uplink its profile's default latency/bandwidth;
 * they live on the edge's own proxy, so faults add to them and reverting a fault keeps them.
 */
export function profileToxics(l: BoardLimits): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const u = l.uplink;
  if (!u) return out;
  if (u.latencyMs || u.jitterMs)
    out.push({
      name: 'profile_latency',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: Math.round(u.latencyMs ?? 0), jitter: Math.round(u.jitterMs ?? 0) },
    });
  if (u.rateKbps)
    out.push({
      name: 'profile_bandwidth',
      type: 'bandwidth',
      stream: 'downstream',
      toxicity: 1,
      attributes: { rate: Math.max(1, Math.floor(u.rateKbps / 8)) },
    });
  return out;
}

function checkLimits(l: BoardLimits, field: string): BoardLimits {
  const u = l.uplink;
  if (u?.rateKbps !== undefined && !(u.rateKbps >= 8))
    throw new ScenarioError(`uplink rate must be ≥ 8 kbit/s, got ${u.rateKbps}`, { field: `${field}.rate` });
  if (!Number.isFinite(l.cpus) || l.cpus < 0.01 || l.cpus > 1024)
    throw new ScenarioError(`cpus must be between 0.01 and 1024, got ${l.cpus}`, { field: `${field}.cpus` });
  if (!Number.isFinite(l.memoryBytes) || l.memoryBytes < 16 * MiB)
    throw new ScenarioError(`memory must be at least 16MiB, got ${l.memoryBytes} bytes`, {
      field: `${field}.memory`,
    });
  return l;
}

/** cgroup v1 CPU settings for a quota of `cpus` host CPUs. */
export function cpuQuota(cpus: number): { periodUs: number; quotaUs: number } {
  const periodUs = 100_000;
  return { periodUs, quotaUs: Math.max(1000, Math.round(cpus * periodUs)) };
}
