import type { CheckResult } from './types.ts';

export interface NodeUsage {
  /** Peak memory of the node's cgroup (the agent and anything it started). */
  peakRssBytes: number;
  cpuSeconds: number;
}

/** Resource use of the edge agents, from their cgroups; CPU normalised per 1,000 acknowledged writes. */
export function checkResources(
  usage: Record<string, NodeUsage>,
  ackedWrites: number,
  limits: { maxPeakRssBytes: number },
): CheckResult {
  const nodes = Object.entries(usage);
  const peak = Math.max(0, ...nodes.map(([, u]) => u.peakRssBytes));
  const cpu = nodes.reduce((a, [, u]) => a + u.cpuSeconds, 0);
  const cpuPer1k = ackedWrites > 0 ? (cpu * 1000 * 1000) / ackedWrites : cpu * 1000;
  return {
    id: 'resources',
    title: 'Resource use of the edge agents (cgroup peak memory, CPU)',
    status: nodes.length > 0 && peak <= limits.maxPeakRssBytes ? 'passed' : 'failed',
    summary: `peak ${(peak / 1048576).toFixed(1)} MiB (limit ${(limits.maxPeakRssBytes / 1048576).toFixed(0)} MiB), ${cpu.toFixed(2)} CPU-s over ${nodes.length} edges = ${cpuPer1k.toFixed(0)} CPU-ms per 1k acknowledged writes`,
    metrics: {
      'resources.edge-peak-rss-bytes': { value: peak, unit: 'B', source: 'check:resources' },
      'resources.edge-cpu-seconds': { value: cpu, unit: 's', source: 'check:resources' },
      'resources.edge-cpu-ms-per-1k-writes': { value: cpuPer1k, unit: 'ms', source: 'check:resources' },
    },
    evidence: { usage },
  };
}
