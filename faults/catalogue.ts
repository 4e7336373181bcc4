import { UsageError } from '../src/core/errors.ts';
import { bandwidth } from './bandwidth.ts';
import { clockSkew } from './clock-skew.ts';
import { cpuStress } from './cpu-stress.ts';
import { diskFull } from './disk-full.ts';
import { flap } from './flap.ts';
import { ioError } from './io-error.ts';
import { ioLatency } from './io-latency.ts';
import { kill } from './kill.ts';
import { cordon, drain, nodeLoss, overload, podKill } from './kube.ts';
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
import { capabilityNames, type Capability } from './capabilities.ts';
import { planNeeds, type FaultKind, type FaultPlan, type PlanContext, type ResolvedFault } from './types.ts';

/**
 * Every fault kind by name. `clock-skew` shifts only CLOCK_MONOTONIC/BOOTTIME (a time namespace):
 * Linux has no per-process wall clock, and static Go binaries read CLOCK_REALTIME through the vDSO,
 * past LD_PRELOAD. A real wall-clock skew needs a ptrace/seccomp supervisor that hides the vDSO and
 * rewrites clock_gettime results (as Chaos Mesh's TimeChaos patches the vDSO).
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
    nodeLoss,
    cordon,
    drain,
    overload,
    podKill,
    loss,
    diskFull,
    ioLatency,
    ioError,
    powerLoss,
    clockSkew,
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

/**
 * Validate and plan a list of faults against a synthetic context before anything is deployed, and
 * refuse the ones whose plans need a capability the target lacks, by name. Planning is pure: the
 * placeholder addresses (TEST-NET-1, RFC 5737) are never sent to. Errors name `faults[i]`.
 */
export function prevalidateFaults(
  faults: readonly ResolvedFault[],
  edges: readonly string[],
  target: { name: string; capabilities: readonly Capability[] },
): void {
  const nodes = [
    { name: 'cloud', role: 'cloud' as const, address: '192.0.2.1' },
    ...edges.map((n, i) => ({ name: n, role: 'edge' as const, address: `192.0.2.${i + 10}` })),
  ];
  const ctx: PlanContext = {
    nodes,
    clientAddresses: ['192.0.2.254'],
    uplinkProxy: (n) => (n === 'cloud' ? undefined : { api: 'http://192.0.2.1:1', proxy: `uplink-${n}` }),
    uplinkDevice: () => 'eth0',
    ...(target.capabilities.includes('data')
      ? {
          dataLayer: (n: string) =>
            n === 'cloud'
              ? undefined
              : { ctl: ['ec-fusefs', 'ctl', 's'], tool: ['ec-fusefs'], backingDir: '/d', sizeBytes: 2 ** 26 },
        }
      : {}),
  };
  const have = new Set(target.capabilities);
  faults.forEach((f, i) =>
    atFault(i, () => {
      const missing = [...planNeeds(planFault(f, ctx))].filter((c) => !have.has(c));
      if (missing.length)
        throw new UsageError(
          missing.includes('kube')
            ? `fault ${f.id} ${f.kind} acts on Kubernetes: target ${target.name} has no Kubernetes API; run it with --target kube-local, kind or kube`
            : `fault ${f.id} ${f.kind} needs ${missing.map((c) => capabilityNames[c]).join(' and ')}, which target ${target.name} does not have`,
          { field: 'kind' },
        );
    }),
  );
}

/** Run a fault's validation; its error names the scenario field (faults[i].…). */
export function atFault(i: number, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError && !err.file)
      throw new UsageError(err.message, {
        field: `faults[${i}]${err.field ? `.${err.field}` : ''}`,
        ...(err.node ? { node: err.node } : {}),
        cause: err,
      });
    throw err;
  }
}
