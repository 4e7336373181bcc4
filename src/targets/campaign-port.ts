import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyFault } from '../../faults/apply.ts';
import type { ResolvedFault } from '../../faults/types.ts';
import type { CheckResult } from '../checks/types.ts';
import { CleanupRegistry, newRunId } from '../core/cleanup/registry.ts';
import { sleep } from '../core/deadline.ts';
import { TargetError } from '../core/errors.ts';
import type { StackControl as ConformControl } from '../conform/suite.ts';
import type { RunLoadOptions, RunningLoad } from '../load/run-load.ts';
import type { StackManifest } from '../stack/manifest.ts';
import type { Deployment, EdgeEndpoint } from './types.ts';
import type { FaultSurface } from '../../faults/capabilities.ts';

/** An applied fault: revert is idempotent and also journaled, so cleanup finds it after a crash. */
export interface AppliedFault {
  revert(): Promise<void>;
}

/**
 * What a campaign needs from a deployed stack, whatever the target (local namespaces, Kubernetes,
 * boards). Each target adapts its own deployment to this port (`campaignPort` does it for any
 * node-level `Deployment`).
 */
export interface CampaignDeployment {
  readonly target: string;
  /** Edge agents as clients reach them (the root namespace / the harness host). */
  readonly edges: readonly EdgeEndpoint[];
  /** The hub as the harness reaches it. */
  readonly hubUrl: string;
  /** Faults act through this: the target's capabilities. */
  readonly surface: FaultSurface;
  applyFault(fault: ResolvedFault, registry: CleanupRegistry, signal: AbortSignal): Promise<AppliedFault>;
  /** Peak memory and CPU seconds of a node's cgroup so far, and its current memory; undefined: no sample now. */
  usage(node: string): Promise<{ peakRssBytes: number; cpuSeconds: number; memoryBytes: number } | undefined>;
  /** Bytes that crossed a node's uplink so far (both directions). */
  uplinkBytes(node: string): Promise<number>;
  /** Exits of a node's stack process that no injected fault caused. */
  unplannedExits(node: string): number;
  /** Start a fresh edge agent (new data dir) N times; ms from process start to first 200 on /healthz. */
  coldStarts(samples: number, signal: AbortSignal): Promise<number[]>;
  /** What each cold start sample starts, where the target says (ssh: a runc container or a process). */
  readonly coldStartPath?: 'container' | 'process';
  /** How each node's stack runs and why, where the target decides per node (ssh: runc or the fallback). */
  readonly runtimes?: Readonly<Record<string, { runtime: 'oci' | 'process'; reason: string }>>;
  /** Control of one edge for the conformance suite (cut its cloud link, kill -9 + restart it). */
  control(node: string): ConformControl;
  /**
   * Checks only this target can make (Kubernetes: scheduling latency, rescheduling), run after the
   * common ones, before teardown.
   */
  targetChecks?(signal: AbortSignal): Promise<CheckResult[]>;
  /** `--load-replicas N`: the load runner as a Kubernetes Job of N pods, samples merged (kube-local). */
  startLoadReplicas?(opts: RunLoadOptions, replicas: number): Promise<RunningLoad>;
  teardown(): Promise<void>;
}

/** Adapt any target's node-level Deployment to what a campaign needs. */
export function campaignPort(
  dep: Deployment,
  stack: StackManifest,
  runDir: string,
  surface: FaultSurface = dep.faultSurface(),
): CampaignDeployment {
  return {
    target: dep.target,
    edges: dep.edges,
    hubUrl: dep.hubUrl,
    surface,
    applyFault: (f, registry, signal) => applyFault(surface, f, registry, { signal }),
    async usage(node) {
      const s = await dep.stats(node);
      if (!s) return undefined;
      return { peakRssBytes: s.peakMemoryBytes, cpuSeconds: s.cpuSeconds, memoryBytes: s.memoryBytes };
    },
    async uplinkBytes(node) {
      const u = await dep.uplinkBytes(node);
      return u.sent + u.received;
    },
    unplannedExits: (node) => dep.exits().filter((e) => e.node === node && !e.expected).length,
    coldStarts: (samples, signal) => processColdStarts(dep, stack, runDir, samples, signal),
    control: (node) => conformControl(dep, node),
    teardown: () => dep.teardown(),
  };
}

/**
 * A fresh agent (new data dir, its own port, offline so it needs no cloud) on the first edge, inside
 * that board's cgroup, N times: process start → first 200 on /healthz, as the client side sees it.
 */
export async function processColdStarts(
  dep: Deployment,
  stack: StackManifest,
  runDir: string,
  samples: number,
  signal: AbortSignal,
): Promise<number[]> {
  const edge = dep.edges[0]!;
  const node = dep.node(edge.name);
  const out: number[] = [];
  await using reg = CleanupRegistry.open(newRunId('coldstart'));
  for (let i = 0; i < samples; i++) {
    const port = 17100 + i;
    const data = mkdtempSync(join(runDir, `cold-${i}-`));
    // the stack's env goes through the environment, never the command line (readable in /proc)
    const env = {
      ...stack.edge.env,
      EDGE_NODE_ID: `${edge.name}-cold-${i}`,
      EDGE_LISTEN: `${node.address}:${port}`,
      CLOUD_URL: 'http://127.0.0.1:9',
      EDGE_MODE: 'offline',
      EDGE_DATA_DIR: data,
    };
    const url = `http://${node.address}:${port}${stack.edge.health}`;
    const t0 = performance.now();
    const p = await dep.shell(edge.name).spawn(stack.edge.command, {
      env,
      what: `cold start ${i} on ${edge.name}`,
      registry: reg,
      inResourceGroup: true,
      logName: `${edge.name}-cold-${i}`,
    });
    try {
      for (;;) {
        if (signal.aborted) throw new TargetError('cold starts interrupted');
        const ok = await fetch(url, { signal: AbortSignal.timeout(500) })
          .then((r) => r.status === 200)
          .catch(() => false);
        if (ok) break;
        if (performance.now() - t0 > 20_000)
          throw new TargetError(`cold start ${i}: ${url} not healthy after 20 s`, { node: edge.name });
        await sleep(2);
      }
      out.push(Math.round((performance.now() - t0) * 10) / 10);
    } finally {
      await p.handle.revert();
      rmSync(data, { recursive: true, force: true });
    }
  }
  return out;
}

/** The conformance suite's control of one edge: cut its cloud link (a journaled partition), kill -9 + restart. */
function conformControl(dep: Deployment, node: string): ConformControl {
  let cut: AppliedFault | undefined;
  return {
    cutCloud: async () => {
      const reg = CleanupRegistry.open(newRunId('conform'));
      const applied = await applyFault(
        dep,
        { id: `conform-cut-${node}`, kind: 'partition', node, params: { between: 'edge-cloud' } },
        reg,
      );
      cut = {
        revert: async () => {
          await applied.revert();
          await reg.close();
        },
      };
    },
    healCloud: async () => {
      const c = cut;
      cut = undefined;
      await c?.revert();
    },
    killAndRestartEdge: async () => {
      await dep.stopStack(node, { signal: 'SIGKILL', graceMs: 100 });
      await dep.startStack(node);
    },
  };
}
