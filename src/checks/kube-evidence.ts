/**
 * The evidence shapes the Kubernetes checks judge (src/checks/scheduling.ts). The checks define them and
 * the Kubernetes targets produce them (src/targets/kube/pod-latency.ts, reschedule.ts), so checks never
 * import a target.
 */

export interface Quantiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Pod start latencies of a deploy, from watch events. */
export interface PodLatency {
  pods: number;
  createdToScheduled: Quantiles;
  scheduledToReady: Quantiles;
  createdToReady: Quantiles;
  /** Pods bound per second between the first creation and the last binding. */
  scheduledPerSecond: number;
  /** Pods per node, for placement balance. */
  perNode: Record<string, number>;
}

export interface RescheduleTrial {
  node: string;
  /** Workload pods that were Ready on the node when it was lost. */
  podsOnNode: number;
  /** Loss → the node-lifecycle controller's NoExecute taint seen on the node (watch arrival). */
  detectedMs?: number;
  /** Loss → first of the node's pods marked for deletion (eviction). */
  evictedMs?: number;
  /** Loss → every replica Ready on other nodes: the rescheduling time. */
  rescheduledMs: number;
  replacementNodes: string[];
}

export interface RescheduleResult {
  workload: string;
  namespace: string;
  mechanism: string;
  trials: RescheduleTrial[];
  rescheduled: Quantiles;
  detected: Quantiles;
}
