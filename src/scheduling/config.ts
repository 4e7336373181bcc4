import { BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME } from './keys.ts';

/** Weights of the EdgePlacement score (pluginConfig args; see stack/scheduler/README.md). */
export interface EdgePlacementArgs {
  loadWeight: number;
  latencyWeight: number;
  cpuWeight: number;
  memoryWeight: number;
  maxLatencyMs: number;
}

export const defaultPlacementArgs: EdgePlacementArgs = {
  loadWeight: 1,
  latencyWeight: 2,
  cpuWeight: 1,
  memoryWeight: 1,
  maxLatencyMs: 100,
};

export interface SchedulerConfigOptions {
  kubeconfig: string;
  /** Client rate limits; the same for both schedulers of a benchmark. */
  qps: number;
  burst: number;
}

/** Kubernetes' own client defaults for kube-scheduler (qps 50, burst 100): a campaign's scheduler. */
export const defaultClientLimits = { qps: 50, burst: 100 };

/**
 * The benchmark's client limits, as Kubernetes' scheduler_perf sets them (kube-api-qps 5000,
 * burst 5000): at qps 50 both schedulers bound exactly 52.6 pods/s at 100 nodes — the token
 * bucket's rate, not the scheduler's. With these the rate limiter never waits and what limits a
 * figure is the scheduler itself, the pod creator or the API server (bench-limits.ts).
 */
export const benchClientLimits = { qps: 5000, burst: 5000 };

/**
 * Everything both schedulers of a benchmark share — all but the profile. Parallelism and
 * percentageOfNodesToScore are Kubernetes' defaults (16; 0 = adaptive: every node up to 100
 * nodes, 42% of 1,000), written out so the two configuration files visibly agree.
 */
export function sharedSchedulerConfig(o: SchedulerConfigOptions): Record<string, unknown> {
  return {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    leaderElection: { leaderElect: false },
    clientConnection: { kubeconfig: o.kubeconfig, qps: o.qps, burst: o.burst },
    parallelism: 16,
    percentageOfNodesToScore: 0,
  };
}

/**
 * The edge-scheduler profile: every default plugin, plus UplinkFilter and EdgePlacement (score
 * weight 10, so it outweighs NodeResourcesFit + BalancedAllocation, which prefer the emptiest node
 * even when it reports a high load). multiPoint, so each runs at every extension point it
 * implements: UplinkFilter's PreFilter (which skips the filter for pods that do not need the
 * cloud) and EdgePlacement's PreScore (the pod's part of the score, once per cycle) as well as
 * Filter and Score — enabled under `filter`/`score` only, those two never ran. JSON is YAML.
 */
export function edgeSchedulerConfig(
  o: SchedulerConfigOptions,
  args: EdgePlacementArgs = defaultPlacementArgs,
  scoreWeight = 10,
): Record<string, unknown> {
  return {
    ...sharedSchedulerConfig(o),
    profiles: [
      {
        schedulerName: EDGE_SCHEDULER_NAME,
        plugins: {
          multiPoint: { enabled: [{ name: 'UplinkFilter' }, { name: 'EdgePlacement', weight: scoreWeight }] },
        },
        pluginConfig: [{ name: 'EdgePlacement', args }],
      },
    ],
  };
}

/** The stock kube-scheduler's default profile under another name, for a side-by-side run. */
export function baselineSchedulerConfig(o: SchedulerConfigOptions): Record<string, unknown> {
  return { ...sharedSchedulerConfig(o), profiles: [{ schedulerName: BASELINE_SCHEDULER_NAME }] };
}
