import type { Capability, DataLayer, KubeAction, NodeInfo, UplinkProxy } from './capabilities.ts';

/**
 * A fault is plain data: what, where, when, how long. The campaign engine schedules it; `inject`
 * applies one by hand. Node selectors are resolved (seeded) before planning.
 */
export interface Fault {
  /** Stable id within a run (f1, f2, …); names the fault's nft tables and toxics. */
  id?: string;
  kind: string;
  /** A node name, or a seeded random pick among names. */
  node: string | { random: string[] };
  params: Record<string, unknown>;
  /** ms from the start of the load phase (the campaign's business; apply ignores it). */
  offsetMs?: number;
  /** How long it stays applied; undefined for instant faults (kill, restart-node). */
  durationMs?: number;
  /** Seed for the fault's own randomness (flap schedule). */
  seed?: number;
}

/** A fault with its node resolved, as planning sees it. */
export interface ResolvedFault extends Fault {
  id: string;
  node: string;
}

/** What planning may know about the deployment: pure data, so plans are unit-testable without root. */
export interface PlanContext {
  nodes: readonly NodeInfo[];
  clientAddresses: readonly string[];
  uplinkProxy(node: string): UplinkProxy | undefined;
  uplinkDevice(node: string): string;
  /** The node's data-dir fault layer; absent when the target has none (disk/io/power faults refuse). */
  dataLayer?(node: string): DataLayer | undefined;
}

export interface ToxicSpec {
  name: string;
  type: 'latency' | 'bandwidth' | 'reset_peer' | 'timeout' | 'slicer' | 'slow_close' | 'limit_data';
  stream: 'upstream' | 'downstream';
  toxicity: number;
  attributes: Record<string, number>;
}

/** One action of a plan. Everything with an effect says how it is undone, and is journaled first. */
export type FaultStep =
  /** Run argv on the node (NodeShell); `undo` runs on revert and is journaled before `argv` runs. */
  | { op: 'exec'; node: string; what: string; argv: string[]; input?: string; undo?: string[] }
  /** Add a toxic to a toxiproxy proxy (journaled as its DELETE). */
  | { op: 'toxic'; node: string; what: string; uplink: UplinkProxy; toxic: ToxicSpec }
  /** A long-running helper on the node (stress-ng), in its resource group; revert kills it. */
  | { op: 'spawn'; node: string; what: string; argv: string[]; inResourceGroup: boolean }
  /** Signal the node's stack process tree. */
  | { op: 'signal'; node: string; what: string; signal: NodeJS.Signals }
  /** SIGKILL every process of the node. */
  | { op: 'kill-all'; node: string; what: string }
  /** Start the node's stack process if it is not running (waits for health). */
  | { op: 'start'; node: string; what: string }
  /** One command to the node's data-dir fault layer over its control socket (no process spawned). */
  | { op: 'data-ctl'; node: string; what: string; words: string[] }
  /** Start the node's stack in a new time namespace, monotonic and boot clocks offset by `offsetSecs`. */
  | { op: 'start-skewed'; node: string; what: string; offsetSecs: number }
  /** Pause the node (freezer or SIGSTOP); revert resumes. */
  | { op: 'freeze'; node: string; what: string; method: 'freezer' | 'sigstop' }
  /** A Kubernetes-level action on the node (journaled by the target's KubeControl); revert undoes it. */
  | { op: 'kube'; node: string; what: string; kube: KubeAction }
  /** Later steps on the fault's own clock; cancelled when the fault is reverted. */
  | { op: 'after'; delayMs: number; what: string; steps: FaultStep[] };

export interface FaultPlan {
  fault: ResolvedFault;
  /** One line for people. */
  summary: string;
  steps: FaultStep[];
  /** Run after every undo on revert (e.g. make sure a killed stack runs again). */
  onRevert: FaultStep[];
}

/** One kind of fault: typed params, validated before anything changes, and a pure plan. */
export interface FaultKind<P> {
  kind: string;
  description: string;
  /** Param names with one line each (for `inject --help` and errors). */
  params: Record<string, string>;
  /**
   * Every capability any of its plans may use (a plan's own needs, `planNeeds`, are a subset; a unit
   * test checks it). A target without one of them refuses the fault by name before deploying.
   */
  needs: readonly Capability[];
  /** Validate and type the params; throws a UsageError naming the param. */
  parse(raw: Record<string, unknown>, fault: ResolvedFault, ctx: PlanContext): P;
  plan(p: P, fault: ResolvedFault, ctx: PlanContext): FaultPlan;
}

/** The capability each step op acts through. */
const stepNeeds: Readonly<Record<Exclude<FaultStep['op'], 'after'>, Capability>> = {
  exec: 'shell',
  spawn: 'shell',
  toxic: 'uplink',
  signal: 'stack',
  'kill-all': 'stack',
  start: 'stack',
  'start-skewed': 'clock',
  'data-ctl': 'data',
  freeze: 'stack',
  kube: 'kube',
};

/** The capabilities a plan's steps (and their delayed and revert steps) act through. */
export function planNeeds(plan: Pick<FaultPlan, 'steps' | 'onRevert'>): Set<Capability> {
  const out = new Set<Capability>();
  const walk = (steps: readonly FaultStep[]): void => {
    for (const s of steps) {
      if (s.op === 'after') walk(s.steps);
      else out.add(stepNeeds[s.op]);
    }
  };
  walk(plan.steps);
  walk(plan.onRevert);
  return out;
}
