import type { Topology } from './topology.ts';

/** One pod as placed, in binding order. */
export interface Placement {
  pod: string;
  node: string;
  source?: string;
  needsCloud: boolean;
  milliCPU: number;
}

export interface PlacementQuality {
  /** Population standard deviation of per-node CPU utilisation (background load + requests / allocatable). */
  cpuSpread: number;
  /** Share of pods (with a data source) on a lowest-latency node among those eligible when it was bound. */
  lowLatencyShare: number;
  /** Mean latency (ms) from the pod's node to its data source. */
  meanLatencyMs: number;
  /** Pods that need the cloud but sit on a node whose uplink is down. */
  onDownUplink: number;
  /** Per-node CPU utilisation after the run. */
  utilisation: Record<string, number>;
}

/**
 * Pure: placement quality from the placements in binding order. Eligibility is replayed: a node
 * is eligible for a pod if it still had a pod slot and CPU for it at that moment and, for a pod
 * needing the cloud, its uplink was up — what the filters of either scheduler should allow.
 */
export function placementQuality(t: Topology, placements: readonly Placement[]): PlacementQuality {
  const byName = new Map(t.nodes.map((n) => [n.name, n]));
  const usedCPU = new Map<string, number>(t.nodes.map((n) => [n.name, 0]));
  const usedPods = new Map<string, number>(t.nodes.map((n) => [n.name, 0]));
  let withSource = 0;
  let onLowest = 0;
  let latSum = 0;
  let onDown = 0;
  for (const p of placements) {
    const node = byName.get(p.node);
    if (!node) continue;
    if (p.needsCloud && node.uplinkDown) onDown++;
    if (p.source !== undefined) {
      const src = p.source;
      let best = Infinity;
      for (const n of t.nodes) {
        const fits =
          usedPods.get(n.name)! < t.capacity.pods && usedCPU.get(n.name)! + p.milliCPU <= t.capacity.milliCPU;
        if (!fits || (p.needsCloud && n.uplinkDown)) continue;
        best = Math.min(best, n.latencyMs[src] ?? Infinity);
      }
      const lat = node.latencyMs[src] ?? Infinity;
      withSource++;
      latSum += lat;
      if (lat <= best) onLowest++;
    }
    usedCPU.set(p.node, usedCPU.get(p.node)! + p.milliCPU);
    usedPods.set(p.node, usedPods.get(p.node)! + 1);
  }
  const utilisation: Record<string, number> = {};
  for (const n of t.nodes) utilisation[n.name] = n.cpuLoad + usedCPU.get(n.name)! / t.capacity.milliCPU;
  const u = Object.values(utilisation);
  const mean = u.reduce((a, b) => a + b, 0) / u.length;
  const sd = Math.sqrt(u.reduce((a, b) => a + (b - mean) ** 2, 0) / u.length);
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    cpuSpread: r3(sd),
    lowLatencyShare: withSource ? r3(onLowest / withSource) : 0,
    meanLatencyMs: withSource ? Math.round((latSum / withSource) * 10) / 10 : 0,
    onDownUplink: onDown,
    utilisation: Object.fromEntries(Object.entries(utilisation).map(([k, v]) => [k, r3(v)])),
  };
}
