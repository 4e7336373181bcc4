import type { Capability, FaultSurface } from '../../faults/capabilities.ts';
import type { ResolvedFault } from '../../faults/types.ts';
import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import type { StackManifest } from '../stack/manifest.ts';
import type { CampaignDeployment } from './campaign-port.ts';

/**
 * A target is one folder `src/targets/<name>/` exporting one `TargetPlugin`; the CLI and the campaign
 * look it up by name in `registry.ts` and never branch on a target's name. See src/targets/README.md.
 */

/** Options a target takes from the command line (`--inventory`, `--kubeconfig`, …), by option name. */
export type TargetOptions = Readonly<Record<string, string | undefined>>;

/** Per-check settings a target's own checks read (Kubernetes: scheduling, rescheduling, bench). */
export interface TargetCheckSettings {
  scheduling: { maxP99Ms: number };
  rescheduling: {
    trials: number;
    mechanism: 'node-loss' | 'overload';
    maxP99Ms: number;
    /** Per trial: a duration ("120s") or ms. */
    timeout: string | number;
  };
  schedulingBench?: { nodes: number; pods: number; rounds: number } | undefined;
}

/** What a campaign asks of a target: target-neutral, so targets never import the campaign. */
export interface CampaignRequest {
  /** The scenario's edge nodes with their board profile names (and image architecture, when set). */
  edges: readonly { name: string; profile: string; arch?: 'amd64' | 'arm64' | undefined }[];
  edgeMode: 'auto' | 'online' | 'offline';
  /** Target network settings (local: a CIDR to take the run's /24 from). */
  subnet?: string | undefined;
  /** The planned faults (node resolved), validated against the target before anything is deployed. */
  faults: readonly ResolvedFault[];
  stack: StackManifest;
  options: TargetOptions;
  checks: TargetCheckSettings;
  /** `--load-replicas N`: the load runs as a Job of N pods (kind adds a load node for them). */
  loadReplicas?: number;
}

export interface DeployContext {
  runId: string;
  /** Logs and data dirs go here. */
  runDir: string;
  /** Everything created is recorded here before it is created. */
  registry: CleanupRegistry;
  signal: AbortSignal;
}

/** `edgechaos deploy`: a deployment left running for `inject` / `destroy` from other processes. */
export interface DetachedRequest {
  /** Edge nodes wanted (undefined: the target's default, e.g. every board of an inventory). */
  edges: readonly { name: string; profile: string }[] | undefined;
  edgeMode: 'auto' | 'online' | 'offline';
  subnet?: string | undefined;
  stack: StackManifest;
  options: TargetOptions;
}

export interface DetachedDeployment {
  runId: string;
  ms: number;
  stateFile: string;
  runDir: string;
  hub: string;
  nodes: { name: string; role: string; address: string; url?: string; profile?: string; netns?: string }[];
}

/** A running deployment found by run id (or the newest): which target has it and since when. */
export interface FoundDeployment {
  runId: string;
  /** When its state was last written (ms since the epoch): the newest across targets wins. */
  at: number;
}

/** A running deployment attached to from another process: faults go through its surface. */
export interface Attached {
  readonly runId: string;
  readonly surface: FaultSurface;
  /** Let go of it (connections, heartbeats); the deployment keeps running. */
  detach(): Promise<void>;
}

export interface DestroyReport {
  runId: string;
  ms: number;
  reverted: string[];
  failed: { what: string; error: string }[];
}

export interface TargetPlugin {
  readonly name: string;
  /** One line for `--help` and errors. */
  readonly summary: string;
  /** What its deployments offer faults; a fault needing anything else is refused before deploying. */
  readonly capabilities: readonly Capability[];
  /** Command-line options it takes, with one line each (any other option is an error). */
  readonly options: Readonly<Record<string, string>>;
  /** Tools, inputs and faults checked before anything is created (one clear error, no run dir). */
  preflight(req: CampaignRequest): Promise<void>;
  /** Deploy the stack for a campaign; the result is torn down by the campaign. */
  deploy(req: CampaignRequest, ctx: DeployContext): Promise<CampaignDeployment>;
  /** `edgechaos deploy` / `inject` / `destroy` on this target, when it supports leaving a deployment running. */
  readonly detached?: DetachedTarget;
}

export interface DetachedTarget {
  deploy(req: DetachedRequest, signal: AbortSignal): Promise<DetachedDeployment>;
  /** The running deployment named `runId` (or this target's newest), if there is one. */
  find(runId: string | undefined): FoundDeployment | undefined;
  attach(runId: string, registry: CleanupRegistry): Promise<Attached>;
  destroy(runId: string): Promise<DestroyReport>;
}
