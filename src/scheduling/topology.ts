import { seededRandom } from '../load/rng.ts';
import type { FakeNodeSpec } from '../control-plane/nodes.ts';
import { CPU_LOAD, latencyKey, MEM_LOAD, UPLINK } from './keys.ts';

/** One node of the benchmark cluster and the signals the harness reports for it. */
export interface BenchNode {
  name: string;
  /** Site the node sits in; each data source lives in one site. */
  zone: number;
  /** Background load (work the pods' requests do not show), 0..1. */
  cpuLoad: number;
  memLoad: number;
  uplinkDown: boolean;
  /** Round-trip ms to each data source. */
  latencyMs: Record<string, number>;
}

export interface Topology {
  nodes: BenchNode[];
  sources: string[];
  /** Per-node capacity (every node is a Raspberry Pi 4 profile). */
  capacity: { milliCPU: number; memory: number; pods: number };
}

/** Same-site latency; other sites are 20–80 ms away. */
export const NEAR_MS = 2;

/**
 * `n` edge nodes in sites of ~5 nodes, one data source per site. A quarter of the nodes carry a
 * heavy background load (0.55–0.8), the rest 0.05–0.3; the last node's uplink is down (n ≥ 4).
 * Latency to the own site's source is NEAR_MS for every node of the site (ties are real: a site
 * shares its network path), 20–80 ms to other sites' sources.
 */
export function benchTopology(n: number, seed = 1): Topology {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`the benchmark needs at least 2 nodes, got ${n}`);
  const rand = seededRandom(seed); // deterministic, so both schedulers see one topology
  const zones = Math.max(1, Math.round(n / 5));
  const sources = Array.from({ length: zones }, (_, z) => `site-${z}`);
  const nodes: BenchNode[] = [];
  for (let i = 0; i < n; i++) {
    const zone = i % zones;
    const busy = rand() < 0.25;
    const cpuLoad = round2(busy ? 0.55 + 0.25 * rand() : 0.05 + 0.25 * rand());
    const memLoad = round2(0.1 + 0.3 * rand());
    const latencyMs: Record<string, number> = {};
    for (let z = 0; z < zones; z++)
      latencyMs[sources[z]!] = z === zone ? NEAR_MS : Math.round(20 + 60 * rand());
    nodes.push({ name: `edge-${i}`, zone, cpuLoad, memLoad, uplinkDown: n >= 4 && i === n - 1, latencyMs });
  }
  return { nodes, sources, capacity: { milliCPU: 4000, memory: 4 * 2 ** 30, pods: 32 } };
}

/** The kwok node specs (all Raspberry Pi 4 edges). */
export function nodeSpecs(t: Topology): FakeNodeSpec[] {
  return t.nodes.map((n) => ({ name: n.name, role: 'edge', profile: 'rpi4' }));
}

/** The annotations the harness writes onto a node, as the reporter/prober would. */
export function nodeAnnotations(n: BenchNode): Record<string, string> {
  const out: Record<string, string> = {
    [CPU_LOAD]: String(n.cpuLoad),
    [MEM_LOAD]: String(n.memLoad),
    [UPLINK]: n.uplinkDown ? 'down' : 'up',
  };
  for (const [s, ms] of Object.entries(n.latencyMs)) out[latencyKey(s)] = String(ms);
  return out;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
