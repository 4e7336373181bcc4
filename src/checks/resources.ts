import type { CheckResult } from './types.ts';
import { DEFAULT_MIN_ACKNOWLEDGED_WRITES, formatMB, notProvided } from './types.ts';

export interface NodeUsage {
  /** Peak memory of the node's cgroup (the agent and anything it started). */
  peakRssBytes: number;
  cpuSeconds: number;
}

/** Resource use of the edge agents, from their cgroups; CPU normalised per 1,000 acknowledged writes. */
export function checkResources(
  usage: Record<string, NodeUsage>,
  ackedWrites: number,
  limits: { maxPeakRssBytes: number; minAcknowledgedWrites?: number },
): CheckResult {
  const title = 'Resource use of the edge agents (cgroup peak memory, CPU)';
  const nodes = Object.entries(usage);
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
  const peak = Math.max(0, ...nodes.map(([, u]) => u.peakRssBytes));
  const cpu = nodes.reduce((a, [, u]) => a + u.cpuSeconds, 0);
  const cpuPer1k = (cpu * 1000 * 1000) / ackedWrites;
  return {
    id: 'resources',
    title,
    status: peak <= limits.maxPeakRssBytes ? 'passed' : 'failed',
    summary: `peak ${formatMB(peak)} (limit ${formatMB(limits.maxPeakRssBytes)}), ${cpu.toFixed(2)} CPU-s over ${nodes.length} edges = ${cpuPer1k.toFixed(0)} CPU-ms per 1k acknowledged writes`,
    metrics: {
      'resources.edge-peak-rss-bytes': { value: peak, unit: 'B', source: 'check:resources' },
      'resources.edge-cpu-seconds': { value: cpu, unit: 's', source: 'check:resources' },
      'resources.edge-cpu-ms-per-1k-writes': { value: cpuPer1k, unit: 'ms', source: 'check:resources' },
    },
    evidence: { usage, ackedWrites },
  };
}
