import { parseDuration } from '../core/duration.ts';
import { seededRandom } from '../load/rng.ts';
import { resolveNodeNames, type Scenario } from './scenario.ts';

export interface PlannedFault {
  /** Stable id within the run: f1, f2, ... */
  id: string;
  kind: string;
  node: string;
  /** ms from the start of the load phase */
  at: number;
  /** undefined for instant faults (kill) */
  durationMs: number | undefined;
  params: Record<string, unknown>;
  /** Seed for the fault's own randomness (flap schedule). */
  seed: number;
}

/** The fault a target applies for a planned one (its time in the run left out). */
export function faultInput(
  f: PlannedFault,
): Omit<PlannedFault, 'at' | 'durationMs'> & { durationMs?: number } {
  return {
    id: f.id,
    kind: f.kind,
    node: f.node,
    params: f.params,
    seed: f.seed,
    ...(f.durationMs !== undefined ? { durationMs: f.durationMs } : {}),
  };
}

export interface Plan {
  seed: number;
  nodes: { name: string; profile: string }[];
  warmupMs: number;
  loadMs: number;
  convergenceTimeoutMs: number;
  faults: PlannedFault[];
  publishAt: number[];
}

/** Resolve a scenario into a concrete, seeded plan — pure, so the same seed always gives the same run. */
export function planCampaign(s: Scenario, seedOverride?: number): Plan {
  const seed = seedOverride ?? s.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rand = seededRandom(seed);
  const names = resolveNodeNames(s.nodes);
  const faults = s.faults.map((f, i): PlannedFault => {
    const node =
      typeof f.node === 'string' ? f.node : f.node.random[Math.floor(rand() * f.node.random.length)]!;
    return {
      id: `f${i + 1}`,
      kind: f.kind,
      node,
      at: parseDuration(f.at),
      durationMs: f.for === undefined ? undefined : parseDuration(f.for),
      params: f.params,
      seed: Math.floor(rand() * 2 ** 31),
    };
  });
  return {
    seed,
    nodes: s.nodes.map((n, i) => ({
      name: names[i]!,
      profile: n.profile,
      ...(n.arch ? { arch: n.arch } : {}),
    })),
    warmupMs: parseDuration(s.warmup),
    loadMs: parseDuration(s.duration),
    convergenceTimeoutMs: parseDuration(s.convergence.timeout),
    faults,
    publishAt: s.downlink.publishAt.map((d) => parseDuration(d)),
  };
}

/** The plan as lines for people (`run --dry-run`). */
export function describePlan(s: Scenario, p: Plan): string[] {
  const sec = (ms: number): string => `${(ms / 1000).toFixed(1).padStart(6)}s`;
  const lines = [
    `scenario ${s.name} (${s.file})`,
    `seed ${p.seed}`,
    `nodes: cloud + ${p.nodes.map((n) => `${n.name} [${n.profile}]`).join(', ')}`,
    `warm-up ${p.warmupMs / 1000}s, load ${p.loadMs / 1000}s (${s.load.script}), convergence bound ${p.convergenceTimeoutMs / 1000}s`,
    'timeline (from the start of the load phase):',
  ];
  const events: { t: number; text: string }[] = [
    { t: 0, text: 'load starts' },
    { t: p.loadMs, text: 'load ends; heal everything; wait for convergence' },
  ];
  for (const f of p.faults) {
    const params = Object.entries(f.params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
    events.push({
      t: f.at,
      text: `${f.id} ${f.kind} on ${f.node}${params ? ` (${params})` : ''}${f.durationMs !== undefined ? ` for ${f.durationMs / 1000}s` : ''}`,
    });
    if (f.durationMs !== undefined)
      events.push({ t: f.at + f.durationMs, text: `${f.id} ${f.kind} on ${f.node} reverted` });
  }
  for (const t of p.publishAt) events.push({ t, text: 'publish a new config version on the hub' });
  events.sort((a, b) => a.t - b.t);
  return [...lines, ...events.map((e) => `  ${sec(e.t)}  ${e.text}`)];
}
