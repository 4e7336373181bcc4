import type { CheckResult } from './types.ts';
import {
  byEmulation,
  DEFAULT_MIN_ACKNOWLEDGED_WRITES,
  describeEmulated,
  formatMB,
  notMeasured,
  notProvided,
  withEmulated,
  type EmulatedNodes,
} from './types.ts';

export interface NodeUsage {
  /** Peak memory of the node's cgroup (the agent and anything it started). */
  peakRssBytes: number;
  cpuSeconds: number;
}

const title = 'Resource use of the edge agents (cgroup peak memory, CPU)';

function usageMetrics(nodes: [string, NodeUsage][], ackedWrites: number): CheckResult['metrics'] {
  const peak = Math.max(0, ...nodes.map(([, u]) => u.peakRssBytes));
  const cpu = nodes.reduce((a, [, u]) => a + u.cpuSeconds, 0);
  return {
    'resources.edge-peak-rss-bytes': { value: peak, unit: 'B', source: 'check:resources' },
    'resources.edge-cpu-seconds': { value: cpu, unit: 's', source: 'check:resources' },
    ...(ackedWrites > 0
      ? {
          'resources.edge-cpu-ms-per-1k-writes': {
            value: (cpu * 1000 * 1000) / ackedWrites,
            unit: 'ms',
            source: 'check:resources',
          },
        }
      : {}),
  };
}

/**
 * Resource use of the edge agents, from their cgroups; CPU normalised per 1,000 acknowledged writes.
 * `ackedWrites` counts the native edges' writes; edges under an emulator (`emulated`, with their own
 * acknowledged writes) spend the emulator's CPU and memory: shown as "emulated, not scored".
 */
export function checkResources(
  usage: Record<string, NodeUsage>,
  ackedWrites: number,
  limits: { maxPeakRssBytes: number; minAcknowledgedWrites?: number },
  emulated: { nodes: EmulatedNodes; ackedWrites: number } = { nodes: {}, ackedWrites: 0 },
): CheckResult {
  const split = byEmulation(Object.entries(usage), ([n]) => n, emulated.nodes);
  const emuMetrics = split.emulated.length ? usageMetrics(split.emulated, emulated.ackedWrites) : {};
  const emuNodes = split.emulated.map(([n]) => n);
  if (split.native.length === 0 && emuNodes.length)
    return withEmulated(
      notMeasured(
        'resources',
        title,
        `every measured edge ran under an emulator: ${describeEmulated(emulated.nodes, emuNodes)}`,
      ),
      emulated.nodes,
      emuNodes,
      emuMetrics,
    );
  return withEmulated(
    nativeResources(split.native, ackedWrites, limits),
    emulated.nodes,
    emuNodes,
    emuMetrics,
  );
}

function nativeResources(
  nodes: [string, NodeUsage][],
  ackedWrites: number,
  limits: { maxPeakRssBytes: number; minAcknowledgedWrites?: number },
): CheckResult {
  const usage = Object.fromEntries(nodes);
  const min = limits.minAcknowledgedWrites ?? DEFAULT_MIN_ACKNOWLEDGED_WRITES;
  // An agent that accepts no writes is small and idle: its footprint under load was never shown.
  if (nodes.length === 0)
    return notProvided('resources', title, 'no edge reported its resource use', { evidence: { usage } });
  if (ackedWrites < min)
    return notProvided(
      'resources',
      title,
      `the measured edges acknowledged ${ackedWrites} writes, fewer than the ${min} needed to judge resource use under load`,
      { evidence: { usage, ackedWrites } },
    );
  const metrics = usageMetrics(nodes, ackedWrites);
  const peak = metrics['resources.edge-peak-rss-bytes']!.value;
  const cpu = metrics['resources.edge-cpu-seconds']!.value;
  const cpuPer1k = metrics['resources.edge-cpu-ms-per-1k-writes']?.value ?? 0;
  return {
    id: 'resources',
    title,
    status: peak <= limits.maxPeakRssBytes ? 'passed' : 'failed',
    summary: `peak ${formatMB(peak)} (limit ${formatMB(limits.maxPeakRssBytes)}), ${cpu.toFixed(2)} CPU-s over ${nodes.length} edges = ${cpuPer1k.toFixed(0)} CPU-ms per 1k acknowledged writes`,
    metrics,
    evidence: { usage, ackedWrites },
  };
}
