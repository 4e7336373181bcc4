import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import type { Quantiles } from '../targets/kube/pod-latency.ts';
import type { Limit } from './bench-limits.ts';
import type { PlacementQuality } from './quality.ts';
import type { SchedulerBreakdown } from './scheduler-metrics.ts';

export interface SchedulingBenchOptions {
  nodes: number;
  pods: number;
  registry: CleanupRegistry;
  /** Run dir (cluster, configs, logs); a temp dir removed afterwards when absent. */
  dir?: string;
  /** Client rate limits for both schedulers (default: kube-scheduler's own, qps 50 / burst 100). */
  qps?: number;
  burst?: number;
  /** Measured rounds per scheduler, alternating default, edge, default, edge … (default 3). */
  rounds?: number;
  /**
   * Arrival rate of the paced (latency) phase, pods/s, the same for both schedulers (default
   * 0.8 × qps, at most 100: below the binding rate the client limit allows, so latency is the
   * scheduler's own and not the queue behind its rate limiter).
   */
  arrivalRate?: number;
  /** Pods of the paced phase per round (default: min(pods, max(1000, pods / 10))). */
  pacedPods?: number;
  /** Pod creations in flight. */
  concurrency?: number;
  /** Overload-migration trials (0 = skip). */
  migrationTrials?: number;
  /**
   * false: a control run — the edge-scheduler binary with the default plugins only (its profile
   * otherwise unchanged), to tell what the binary costs from what the plugins cost.
   */
  edgePlugins?: boolean;
  /**
   * Write a CPU profile (pprof) of each scheduler over the paced phase of its first measured
   * round into this directory: `<scheduler>.cpu.pprof`.
   */
  profileDir?: string;
  /**
   * Write the first measured round of each scheduler as a trace into this directory,
   * `<scheduler>.trace.json` (the topology, the pods in creation order and where each was bound):
   * the recorded runs a placement policy can be trained and replayed on offline.
   */
  traceDir?: string;
  seed?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

/** One phase of a round: its pods' creation → binding latency and the binding rate. */
export interface PhaseResult {
  pods: number;
  /** Target arrival rate, pods/s; absent: as fast as `concurrency` creations in flight allow. */
  rate?: number;
  /** Achieved arrival rate: pods / (first send → last send). */
  arrivalPerSecond: number;
  /** Pods whose binding time is their Scheduled event's (the rest: the watch's arrival time). */
  boundFromEvents: number;
  /** Create request sent → bound (Scheduled event time), ms. */
  latency: Quantiles;
  /**
   * The wall clock (the schedulers' event times) against the harness's, measured before and
   * after the round, and the smallest latency the phase can tell from zero.
   */
  clock?: { offsetMs: number; uncertaintyMs: number; resolutionMs: number };
  /** Samples below the resolution, reported as the resolution. */
  subResolution?: number;
  /** Burst phase: the component that limited the binding rate (bench-limits.ts). */
  limitedBy?: Limit;
  /** The scheduler's own means over the phase (its /metrics), when they could be read. */
  scheduler?: SchedulerBreakdown;
  /** The three slowest pods: latency and when (ms after the phase's first send) each was sent. */
  slowest: { pod: string; ms: number; sentAtMs: number }[];
  /** Pods bound per second from the first creation to the last binding. */
  throughput: number;
  makespanMs: number;
}

/**
 * One round: a fresh namespace, a paced phase (pods arrive at a fixed rate — the latency
 * figures) then a burst phase (`pods` pods created as fast as the creator can — the throughput
 * figures); placement quality over all of the round's pods in binding order.
 */
export interface RoundResult {
  /** 1-based; 0 = the warm-up round, not counted. */
  round: number;
  scheduler: string;
  namespace: string;
  paced: PhaseResult;
  burst: PhaseResult;
  quality: Omit<PlacementQuality, 'utilisation'>;
}

/** A scheduler's figures: the median of its measured rounds. */
export interface SchedulerSummary {
  scheduler: string;
  rounds: number;
  p50: number;
  p99: number;
  /** p99 of the burst phase (queueing behind the scheduler and its client limit included). */
  burstP99: number;
  throughput: number;
  cpuSpread: number;
  lowLatencyShare: number;
  meanLatencyMs: number;
  /** Worst round. */
  onDownUplink: number;
  /** The component that limited the burst throughput in most rounds. */
  limitedBy: string;
  /** Per-round p99 and throughput, for the spread. */
  p99s: number[];
  throughputs: number[];
}

export interface MigrationResult {
  trials: number;
  /** Overload signal → each evicted pod's replacement Ready on another node, ms. */
  toReady: Quantiles;
  evicted: number;
  /** "from → to" per replacement pod. */
  moves: string[];
  /** Replacements that were placed back onto the node they were evicted from (want 0). */
  backOnOverloaded: number;
}

export interface SchedulingBenchResult {
  nodes: number;
  pods: number;
  pacedPods: number;
  arrivalRate: number;
  qps: number;
  burst: number;
  concurrency: number;
  /** What both scheduler configurations share (besides the client limits). */
  sharedConfig: Record<string, unknown>;
  clusterReadyMs: number;
  topology: { sources: number; busyNodes: number; uplinkDown: string[] };
  warmup: RoundResult[];
  /** Measured rounds in the order they ran (default, edge, default, edge …). */
  rounds: RoundResult[];
  baseline: SchedulerSummary;
  edge: SchedulerSummary;
  /** Per scheduler: the extension points each plugin ran at ("Plugin/Point", from its /metrics). */
  pluginPoints: Record<string, string[]>;
  migration?: MigrationResult;
}
