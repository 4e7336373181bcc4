import type { CheckResult } from '../checks/types.ts';
import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import type { StackControl } from '../conform/suite.ts';
import type { PlannedFault } from './plan.ts';

/** An applied fault: revert is idempotent and also journaled, so cleanup finds it after a crash. */
export interface AppliedFault {
  revert(): Promise<void>;
}

/**
 * What a campaign needs from a deployed stack, whatever the target (local namespaces, Kubernetes,
 * boards). Each target adapts its own deployment to this port.
 */
export interface CampaignDeployment {
  readonly target: string;
  /** Edge agents as clients reach them (the root namespace / the harness host). */
  readonly edges: readonly { name: string; url: string }[];
  /** The hub as the harness reaches it. */
  readonly hubUrl: string;
  applyFault(fault: PlannedFault, registry: CleanupRegistry, signal: AbortSignal): Promise<AppliedFault>;
  /** Peak memory and CPU seconds of a node's cgroup so far, and its current memory. */
  usage(node: string): Promise<{ peakRssBytes: number; cpuSeconds: number; memoryBytes: number }>;
  /** Bytes that crossed a node's uplink so far (both directions). */
  uplinkBytes(node: string): Promise<number>;
  /** Exits of a node's stack process that no injected fault caused. */
  unplannedExits(node: string): number;
  /** Start a fresh edge agent (new data dir) N times; ms from process start to first 200 on /healthz. */
  coldStarts(samples: number, signal: AbortSignal): Promise<number[]>;
  /** Control of one edge for the conformance suite (cut its cloud link, kill -9 + restart it). */
  control(node: string): StackControl;
  /**
   * Checks only this target can make (Kubernetes: scheduling latency, rescheduling), run after the
   * common ones, before teardown.
   */
  targetChecks?(signal: AbortSignal): Promise<CheckResult[]>;
  teardown(): Promise<void>;
}
