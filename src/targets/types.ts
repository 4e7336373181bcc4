import type { CleanupHandle, CleanupRegistry } from '../core/cleanup/registry.ts';
import type { RunResult } from '../core/proc.ts';
import type { StackManifest } from '../stack/manifest.ts';

/**
 * Target-neutral model of a deployed edge stack. A target (local namespaces, Kind, a Kubernetes
 * cluster, boards over SSH) turns a stack manifest and a topology into a `Deployment`; faults and
 * campaigns only ever talk to these interfaces, so the same fault code runs on every target.
 */

/** Edge node names are `edge-<n>`; the hub's node is `cloud`. */
export type NodeRole = 'edge' | 'cloud';

export interface NodeSpec {
  name: string;
  /** Board profile name (see src/targets/local/profiles.ts) or custom limits. */
  profile?: string | BoardLimits;
}

/** Resource limits that emulate a board. */
export interface BoardLimits {
  /** Host CPUs worth of quota (e.g. 0.25). */
  cpus: number;
  memoryBytes: number;
  /** Optional default uplink shaping applied at deploy (toxiproxy toxics on the node's uplink). */
  uplink?: { latencyMs?: number; jitterMs?: number; rateKbps?: number };
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

/** Where a node is reachable on the deployment's own network (for partitions). */
export interface NodeInfo {
  name: string;
  role: NodeRole;
  /** The node's address on the deployment network. */
  address: string;
  /** Board limits actually applied (edges). */
  limits?: BoardLimits;
  /** Profile name, when one was used. */
  profile?: string;
}

/** A toxiproxy proxy on a node's uplink (edge → cloud). */
export interface UplinkProxy {
  /** toxiproxy API base URL as the harness reaches it. */
  api: string;
  proxy: string;
}

/**
 * The fault layer over an edge's data dir (ec-fusefs over a size-limited file system), when the
 * target set one up: io-latency, io-error, disk-full and power-loss act through it.
 */
export interface DataLayer {
  /** argv that sends one control command to the node's layer (append e.g. `status`). */
  ctl: string[];
  /** argv prefix of ec-fusefs itself as the node runs it (for `fill`). */
  tool: string[];
  /** The size-limited directory under the layer, as the node sees it. */
  backingDir: string;
  sizeBytes: number;
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

/** Options for a long-running helper started on a node (e.g. stress-ng). */
export interface NodeSpawnOptions {
  /** Human description for the cleanup journal. */
  what: string;
  registry: CleanupRegistry;
  /** Put the process in the node's resource group (cgroup), so it competes with the stack. */
  inResourceGroup?: boolean;
  logName?: string;
}

export interface NodeProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stop and forget it (idempotent). */
  readonly handle: CleanupHandle;
}

/** Run argument arrays on one node: local = `ip netns exec`, kind = `docker exec`, ssh = ssh. */
export interface NodeShell {
  readonly node: string;
  exec(argv: readonly string[], opts?: { input?: string; allowFailure?: boolean }): Promise<RunResult>;
  /**
   * A cleanup-journal entry ({kind, data}) that runs `argv` on this node when reverted, from its data
   * alone, tolerating "already gone" errors; so a fault's undo survives a crash of the harness.
   */
  undoEntry(argv: readonly string[]): { kind: string; data: Record<string, unknown> };
  /** Start a long-running process on the node, registered for cleanup before it exists. */
  spawn(argv: readonly string[], opts: NodeSpawnOptions): Promise<NodeProcess>;
}

export interface Deployment {
  readonly target: string;
  readonly runId: string;
  readonly runDir: string;
  readonly nodes: readonly NodeInfo[];
  readonly edges: readonly { name: string; url: string }[];
  /** The hub as the harness (client side) reaches it. */
  readonly hubUrl: string;
  /** Addresses the client side (load generator, harness) uses on the deployment network. */
  readonly clientAddresses: readonly string[];
  node(name: string): NodeInfo;
  shell(node: string): NodeShell;
  /** The toxiproxy proxy on an edge's uplink, if the target has one. */
  uplinkProxy(node: string): UplinkProxy | undefined;
  /** Network device inside the node that carries its uplink (for tc). */
  uplinkDevice(node: string): string;
  /** The node's data-dir fault layer, if the target has one (local: every edge). */
  dataLayer?(node: string): DataLayer | undefined;

  /** Stack process control; each resolves once done (start: once health answers 200). */
  startStack(node: string, signal?: AbortSignal): Promise<void>;
  stopStack(node: string, opts?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<void>;
  restartStack(node: string, signal?: AbortSignal): Promise<void>;
  /** Send a signal to the node's stack process tree; marks the resulting exit as expected. */
  signalStack(node: string, sig: NodeJS.Signals): Promise<number>;
  stackRunning(node: string): boolean;
  /**
   * Pause the node: every process in its resource group (`freezer`, default) or its stack process
   * tree (`sigstop`). The handle resumes it; the resume is journaled before the pause.
   */
  freeze(
    node: string,
    registry: CleanupRegistry,
    opts?: { method?: 'freezer' | 'sigstop' },
  ): Promise<CleanupHandle>;
  /** SIGKILL every process of the node (stack and helpers), as a power cut would; returns how many. */
  killAll(node: string): Promise<number>;

  stats(node: string): Promise<NodeStats>;
  uplinkBytes(node: string): Promise<UplinkBytes>;
  /** Exits of stack processes seen so far (only in the process that deployed). */
  exits(): readonly ProcessExit[];

  teardown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
