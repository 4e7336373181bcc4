import type { CleanupHandle, CleanupRegistry } from '../src/core/cleanup/registry.ts';
import type { RunResult } from '../src/core/proc.ts';

/**
 * The narrow capabilities a fault acts through. Faults define these ports and targets implement them
 * (targets import faults, never the other way round): a fault's plan says which capabilities it needs
 * (see `planNeeds`), and a target that lacks one refuses the fault by name before anything is
 * deployed. Test fakes implement only the capabilities they use.
 */

/** What a fault can act through. */
export type Capability = 'shell' | 'stack' | 'uplink' | 'kube' | 'data' | 'clock';

export const capabilityNames: Readonly<Record<Capability, string>> = {
  shell: 'a shell on the node (NodeShell: nft, ip, tc, stress-ng)',
  stack: "control of the node's stack (signal, kill, start, freeze)",
  uplink: "a proxy on the edge's uplink (toxiproxy)",
  kube: 'the Kubernetes API (cordon, drain, taint, node loss, pod kill)',
  data: "a fault layer over the edge's data dir (ec-fusefs over a size-limited disk)",
  clock: "a time namespace for the node's stack (CLOCK_MONOTONIC/BOOTTIME offsets)",
};

/** Edge node names are `edge-<n>`; the hub's node is `cloud`. */
export type NodeRole = 'edge' | 'cloud';

/** Resource limits that emulate a board. */
export interface BoardLimits {
  /** Host CPUs worth of quota (e.g. 0.25). */
  cpus: number;
  memoryBytes: number;
  /** Optional default uplink shaping applied at deploy (toxiproxy toxics on the node's uplink). */
  uplink?: { latencyMs?: number; jitterMs?: number; rateKbps?: number };
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

/** Options for a long-running helper started on a node (e.g. stress-ng). */
export interface NodeSpawnOptions {
  /** Human description for the cleanup journal. */
  what: string;
  registry: CleanupRegistry;
  /** Put the process in the node's resource group (cgroup), so it competes with the stack. */
  inResourceGroup?: boolean;
  logName?: string;
  /**
   * Environment of the helper, passed through the environment and never on a command line (where
   * any local user could read it in /proc); a shell that cannot refuses it.
   */
  env?: Readonly<Record<string, string>>;
}

export interface NodeProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stop and forget it (idempotent). */
  readonly handle: CleanupHandle;
}

/** Capability `shell`: run argument arrays on one node (local = `ip netns exec`, kind = `docker exec`, ssh = ssh). */
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

/** Capability `stack`: the node's stack process (edge agent or hub). */
export interface StackControl {
  /** Start it if it is not running; resolves once its health answers 200. */
  startStack(node: string, signal?: AbortSignal): Promise<void>;
  /** Send a signal to the node's stack process tree; marks the resulting exit as expected. */
  signalStack(node: string, sig: NodeJS.Signals): Promise<number>;
  /**
   * Pause the node: every process in its resource group (`freezer`) or its stack process tree
   * (`sigstop`). The handle resumes it; the resume is journaled before the pause.
   */
  freeze(
    node: string,
    registry: CleanupRegistry,
    opts?: { method?: 'freezer' | 'sigstop' },
  ): Promise<CleanupHandle>;
  /** SIGKILL every process of the node (stack and helpers), as a power cut would; returns how many. */
  killAll(node: string): Promise<number>;
}

/**
 * Capability `clock`: start the node's stack inside a new time namespace whose CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME are offset by `offsetSecs` (the wall clock, CLOCK_REALTIME, is not namespaced).
 */
export interface ClockControl {
  /**
   * Start the stack (if it is not running) in a time namespace with the offset; waits for health.
   * The handle (journaled before the start) kills the node's skewed processes, even after a crash.
   */
  startSkewed(
    node: string,
    offsetSecs: number,
    registry: CleanupRegistry,
    signal?: AbortSignal,
  ): Promise<CleanupHandle>;
}

/** Capability `uplink`: where an edge's uplink can be shaped. */
export interface UplinkShaping {
  /** The toxiproxy proxy on an edge's uplink, if the target has one. */
  uplinkProxy(node: string): UplinkProxy | undefined;
  /** Network device inside the node that carries its uplink (for tc). */
  uplinkDevice(node: string): string;
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

/** Capability `data`: each edge's data-dir fault layer. */
export interface DataLayers {
  dataLayer(node: string): DataLayer | undefined;
  /**
   * Send one control command (words, e.g. ['power-loss']) to the node's layer over its control
   * socket, without spawning a process; resolves with its answer lines, rejects on a `fail` answer.
   */
  control(node: string, words: readonly string[]): Promise<string[]>;
}

/** One Kubernetes-level action on a node (the `kube` step of a plan). */
export type KubeAction =
  | { action: 'cordon' }
  | { action: 'drain' }
  | { action: 'overload' }
  | { action: 'node-loss' }
  | { action: 'pod-kill'; workload: string };

/** Something applied that can be undone (a cleanup handle is one). */
export interface Revertible {
  readonly what: string;
  revert(): Promise<void>;
}

/** Capability `kube`: Kubernetes-level actions, each journaled before it takes effect. */
export interface KubeControl {
  /**
   * Apply an action to the (scenario-named) node. Returns what undoes it (journaled in `registry`
   * where the action changes the cluster), or undefined for actions with nothing to undo (pod kill).
   */
  act(node: string, a: KubeAction, registry: CleanupRegistry): Promise<Revertible | undefined>;
}

/** What planning may know of a deployment: pure data, so plans are unit-testable without root. */
export interface TopologyInfo {
  readonly nodes: readonly NodeInfo[];
  /** Addresses the client side (load generator, harness) uses on the deployment network. */
  readonly clientAddresses: readonly string[];
}

/**
 * A deployment as faults see it: its topology plus the capabilities the target has. An absent
 * capability is refused by name (`missingCapabilities`).
 */
export interface FaultSurface extends TopologyInfo {
  /** Target name, for messages. */
  readonly target: string;
  readonly shell?: (node: string) => NodeShell;
  readonly stack?: StackControl;
  readonly uplink?: UplinkShaping;
  readonly kube?: KubeControl;
  readonly data?: DataLayers;
  readonly clock?: ClockControl;
}

/** The capabilities a surface offers. */
export function capabilitiesOf(s: FaultSurface): Set<Capability> {
  const out = new Set<Capability>();
  if (s.shell) out.add('shell');
  if (s.stack) out.add('stack');
  if (s.uplink) out.add('uplink');
  if (s.kube) out.add('kube');
  if (s.data) out.add('data');
  if (s.clock) out.add('clock');
  return out;
}

/** Something that can give its fault surface (a target's deployment). */
export interface HasFaultSurface {
  faultSurface(): FaultSurface;
}

/** The surface itself, or the one a deployment gives. */
export function surfaceOf(x: FaultSurface | HasFaultSurface): FaultSurface {
  return 'faultSurface' in x ? x.faultSurface() : x;
}
