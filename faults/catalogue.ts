import { UsageError } from '../src/core/errors.ts';
import { bandwidth } from './bandwidth.ts';
import { cpuStress } from './cpu-stress.ts';
import { diskFull } from './disk-full.ts';
import { flap } from './flap.ts';
import { ioError } from './io-error.ts';
import { ioLatency } from './io-latency.ts';
import { kill } from './kill.ts';
import { latency } from './latency.ts';
import { loss } from './loss.ts';
import { memoryStress } from './memory-stress.ts';
import { partition } from './partition.ts';
import { pause } from './pause.ts';
import { powerLoss } from './power-loss.ts';
import { resetPeer } from './reset-peer.ts';
import { restartNode } from './restart-node.ts';
import { slicer } from './slicer.ts';
import { timeout } from './timeout.ts';
import type { FaultKind, FaultPlan, PlanContext, ResolvedFault } from './types.ts';

/**
 * Every fault kind by name. No `clock-skew`: Linux has no per-process wall clock (time namespaces
 * shift only CLOCK_MONOTONIC/BOOTTIME, and a process started in one never compares them with
 * anything outside, so a Go stack would not notice), and static Go binaries read CLOCK_REALTIME
 * through the vDSO, past LD_PRELOAD. A real wall-clock skew needs a ptrace/seccomp supervisor that
 * hides the vDSO and rewrites clock_gettime results (as Chaos Mesh's TimeChaos patches the vDSO).
 */
export const catalogue: Readonly<Record<string, FaultKind<unknown>>> = Object.fromEntries(
  [
    partition,
    latency,
    bandwidth,
    resetPeer,
    timeout,
    slicer,
    flap,
    cpuStress,
    memoryStress,
    kill,
    pause,
    restartNode,
    loss,
    diskFull,
    ioLatency,
    ioError,
    powerLoss,
  ].map((k) => [k.kind, k as FaultKind<unknown>]),
);

export function faultKind(kind: string): FaultKind<unknown> {
  const k = catalogue[kind];
  if (!k)
    throw new UsageError(`unknown fault kind "${kind}" (known: ${Object.keys(catalogue).join(', ')})`, {
      field: 'kind',
    });
  return k;
}

/** Validate and plan a fault (pure): every error is raised here, before anything changes. */
export function planFault(fault: ResolvedFault, ctx: PlanContext): FaultPlan {
  const k = faultKind(fault.kind);
  if (!ctx.nodes.some((n) => n.name === fault.node))
    throw new UsageError(
      `fault ${fault.kind}: no node "${fault.node}" (nodes: ${ctx.nodes.map((n) => n.name).join(', ')})`,
      {
        node: fault.node,
      },
    );
  if (fault.durationMs !== undefined && (!Number.isFinite(fault.durationMs) || fault.durationMs < 0))
    throw new UsageError(`fault ${fault.kind}: duration must be ≥ 0 ms, got ${fault.durationMs}`, {
      field: 'for',
    });
  const p = k.parse(fault.params, fault, ctx);
  return k.plan(p, fault, ctx);
}
