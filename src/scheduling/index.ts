export {
  runSchedulingBench,
  defaultPacedPods,
  podsDoNotFit,
  schedulingMetrics,
  comparisonRows,
  comparisonHeader,
  breakdownRows,
  breakdownHeader,
  summarise,
  writeEvidence,
  limitHeader,
  limitRows,
  limitingComponent,
} from './bench.ts';
export type {
  SchedulingBenchOptions,
  SchedulingBenchResult,
  SchedulerSummary,
  RoundResult,
  PhaseResult,
  MigrationResult,
  SchedulingTrace,
  Limit,
} from './bench.ts';
export {
  edgeSchedulerConfig,
  baselineSchedulerConfig,
  sharedSchedulerConfig,
  defaultPlacementArgs,
  defaultClientLimits,
  benchClientLimits,
} from './config.ts';
export type { EdgePlacementArgs, SchedulerConfigOptions } from './config.ts';
export { placementQuality } from './quality.ts';
export type { Placement, PlacementQuality } from './quality.ts';
export { benchTopology, nodeAnnotations, nodeSpecs, NEAR_MS } from './topology.ts';
export type { BenchNode, Topology } from './topology.ts';
export { PodTracker } from './pod-tracker.ts';
export { parseSchedulerMetrics, breakdown } from './scheduler-metrics.ts';
export { measureClockOffset, combineOffsets, checkedLatencies, latencyResolutionMs } from './clock.ts';
export type { ClockOffset } from './clock.ts';
export type { SchedulerBreakdown, SchedulerCounters } from './scheduler-metrics.ts';
export type { PodTimes } from './pod-tracker.ts';
export { startScheduler, startMigrator, StartedProcess } from './scheduler-process.ts';
export {
  edgeSchedulerBinary,
  edgeSchedulerPath,
  installEdgeScheduler,
  EDGE_SCHEDULER_INSTALL_HINT,
} from './tools.ts';
export {
  CPU_LOAD,
  MEM_LOAD,
  LATENCY_PREFIX,
  UPLINK,
  DATA_SOURCE_LABEL,
  NEEDS_CLOUD_LABEL,
  EDGE_SCHEDULER_NAME,
  BASELINE_SCHEDULER_NAME,
  latencyKey,
} from './keys.ts';
