import { parseDuration } from '../../core/duration.ts';
import { boards, parseBytes } from '../../core/boards.ts';
import { ScenarioError } from '../../core/errors.ts';
import type { BoardLimits } from '../types.ts';

const MiB = 1024 * 1024;

/**
 * Board profiles of the local target: each board's budget from the one board table (src/core/boards.ts,
 * which says how the budgets were calibrated): a cgroup v1 CPU quota in host CPUs and a memory limit.
 */
export const boardProfiles: Readonly<Record<string, BoardLimits>> = Object.fromEntries(
  Object.entries(boards).map(([name, b]) => [name, { ...b.budget }]),
);

export { parseBytes };

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
