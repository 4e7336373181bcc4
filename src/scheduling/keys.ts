/**
 * The signals the edge scheduler reads (mirrors stack/scheduler/internal/edge/edge.go). On a real
 * cluster a reporter next to the edge agent writes them onto the Node; on the embedded kwok
 * cluster the harness does.
 */
export const CPU_LOAD = 'edgechaos.io/cpu-load';
export const MEM_LOAD = 'edgechaos.io/mem-load';
export const LATENCY_PREFIX = 'edgechaos.io/latency-ms.';
export const UPLINK = 'edgechaos.io/uplink';
export const DATA_SOURCE_LABEL = 'edgechaos.io/data-source';
export const NEEDS_CLOUD_LABEL = 'edgechaos.io/needs-cloud';

export const EDGE_SCHEDULER_NAME = 'edge-scheduler';
/** The stock kube-scheduler with the default plugins, under its own name so both run side by side. */
export const BASELINE_SCHEDULER_NAME = 'bench-default-scheduler';

export function latencyKey(source: string): string {
  return `${LATENCY_PREFIX}${source}`;
}
