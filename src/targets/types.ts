import type {
  BoardLimits,
  FaultSurface,
  NodeInfo,
  NodeShell,
  StackControl,
  UplinkShaping,
} from '../../faults/capabilities.ts';
import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import type { StackManifest } from '../stack/manifest.ts';

/**
 * Target-neutral model of a deployed edge stack. A target (local namespaces, Kind, a Kubernetes
 * cluster, boards over SSH) turns a stack manifest and a topology into a `Deployment`; faults and
 * campaigns only ever talk to these interfaces, so the same fault code runs on every target.
 * The narrow capabilities faults act through (NodeShell, StackControl, UplinkShaping, KubeControl)
 * are defined by the faults (faults/capabilities.ts) and re-exported here.
 */
export type {
  BoardLimits,
  Capability,
  FaultSurface,
  KubeAction,
  KubeControl,
  NodeInfo,
  NodeProcess,
  NodeRole,
  NodeShell,
  NodeSpawnOptions,
  StackControl,
  UplinkProxy,
  UplinkShaping,
} from '../../faults/capabilities.ts';

export interface NodeSpec {
  name: string;
  /** Board profile name (see src/targets/local/profiles.ts) or custom limits. */
  profile?: string | BoardLimits;
  /** Run this node's image for this architecture (local target: under qemu-user when not the host's). */
  arch?: 'amd64' | 'arm64';
}

export interface Topology {
  /** Edge nodes; default profile x86-edge. */
  edges: NodeSpec[];
  /** EDGE_MODE for every edge agent (default auto). */
  edgeMode?: 'auto' | 'online' | 'offline';
  /** Target-specific network settings (local: a CIDR to take the run's /24 from). */
  subnet?: string;
}

export interface DeployOptions {
  /** Identifies the run; every name the target creates starts with something derived from it. */
  runId: string;
  /** Logs (one per process) and data dirs go here. */
  runDir: string;
  /** Everything created is recorded here before it is created. */
  registry: CleanupRegistry;
  signal?: AbortSignal;
}

export interface Target {
  readonly name: string;
  deploy(stack: StackManifest, topology: Topology, opts: DeployOptions): Promise<Deployment>;
}

export interface NodeStats {
  /** Peak memory of the node's resource group (cgroup v1 memory.max_usage_in_bytes). */
  peakMemoryBytes: number;
  memoryBytes: number;
  memoryLimitBytes: number | undefined;
  /** CPU time of everything in the node's resource group (cpuacct.usage). */
  cpuSeconds: number;
  /** Time the group was throttled by its CPU quota (cpu.stat throttled_time). */
  throttledSeconds: number;
  nrThrottled: number;
  /** OOM kills inside the group so far (memory.oom_control oom_kill), when the kernel reports it. */
  oomKills: number;
}

export interface UplinkBytes {
  /** Bytes the node sent towards the cloud. */
  sent: number;
  /** Bytes the node received from the cloud. */
  received: number;
}

/** A stack process (edge agent or hub) ended; `expected` when the harness asked for it. */
export interface ProcessExit {
  node: string;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  expected: boolean;
}

/** An edge agent as clients reach it. */
export interface EdgeEndpoint {
  /** The scenario's node name (edge-1, …). */
  name: string;
  url: string;
  /**
   * The node id the agent reports to the hub (its ledger rows carry it), when it is not `name`: on a
   * cluster the stack's manifests give each agent its Kubernetes node name.
   */
  hubNode?: string;
  /** Set when the node's stack runs under an emulator (the architecture emulated): its timing is not scored. */
  emulated?: string;
}

/** Where the deployment's nodes are, as clients and faults see them. */
export interface DeploymentTopology {
  readonly target: string;
  readonly runId: string;
  readonly runDir: string;
  readonly nodes: readonly NodeInfo[];
  readonly edges: readonly EdgeEndpoint[];
  /** The hub as the harness (client side) reaches it. */
  readonly hubUrl: string;
  /** Addresses the client side (load generator, harness) uses on the deployment network. */
  readonly clientAddresses: readonly string[];
  node(name: string): NodeInfo;
}

/** Capability `metrics`: what a node's resource group and uplink used. */
export interface NodeMetrics {
  /** undefined: nothing to measure on that node right now (a Kind node's agent pod being replaced). */
  stats(node: string): Promise<NodeStats | undefined>;
  uplinkBytes(node: string): Promise<UplinkBytes>;
}

/** The stack's lifecycle beyond what faults need (campaigns, conformance, cold starts). */
export interface StackLifecycle extends StackControl {
  stopStack(node: string, opts?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
  restartStack(node: string, signal?: AbortSignal): Promise<void>;
  stackRunning(node: string): boolean;
  /** Exits of stack processes seen so far (only in the process that deployed). */
  exits(): readonly ProcessExit[];
}

/**
 * A deployment that offers every node-level capability (local namespaces, boards, container
 * clusters): its topology, a shell on each node, the stack's lifecycle, uplink shaping, metrics.
 * Faults see it through `faultSurface` (src/targets/surface.ts), which exposes only the narrow
 * capabilities; tests fake only what they use.
 */
export interface Deployment extends DeploymentTopology, StackLifecycle, UplinkShaping, NodeMetrics {
  shell(node: string): NodeShell;
  /** The deployment as faults see it (narrow capabilities; see src/targets/surface.ts). */
  faultSurface(): FaultSurface;
  teardown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
