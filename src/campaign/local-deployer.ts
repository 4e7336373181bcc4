import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyFault } from '../../faults/apply.ts';
import { planFault } from '../../faults/catalogue.ts';
import type { PlanContext, ResolvedFault } from '../../faults/types.ts';
import { sleep } from '../core/deadline.ts';
import { TargetError, UsageError } from '../core/errors.ts';
import { isKubeFault } from '../targets/kube/campaign-faults.ts';
import { LocalTarget } from '../targets/local/index.ts';
import type { Deployment } from '../targets/types.ts';
import type { StackManifest } from '../stack/manifest.ts';
import type { AppliedFault, CampaignDeployment } from './deployment.ts';
import type { Plan, PlannedFault } from './plan.ts';
import type { Deployer } from './run.ts';

/** A planned fault as the fault catalogue takes it. */
function asFault(f: PlannedFault): ResolvedFault {
  return {
    id: f.id,
    kind: f.kind,
    node: f.node,
    params: f.params,
    seed: f.seed,
    ...(f.durationMs !== undefined ? { durationMs: f.durationMs } : {}),
  };
}

/**
 * Validate every planned fault against a synthetic context before anything is deployed, so a bad
 * param is one clear error and nothing is half-applied. Planning is pure: the placeholder addresses
 * (TEST-NET-1, RFC 5737) are never sent to.
 */
export function prevalidateFaults(plan: Plan, skip: (f: PlannedFault) => boolean = () => false): void {
  const nodes = [
    { name: 'cloud', role: 'cloud' as const, address: '192.0.2.1' },
    ...plan.nodes.map((n, i) => ({ name: n.name, role: 'edge' as const, address: `192.0.2.${i + 10}` })),
  ];
  const ctx: PlanContext = {
    nodes,
    clientAddresses: ['192.0.2.254'],
    uplinkProxy: (n) => (n === 'cloud' ? undefined : { api: 'http://192.0.2.1:1', proxy: `uplink-${n}` }),
    uplinkDevice: () => 'eth0',
    // The local data plane mounts an ec-fusefs layer over every edge's data dir (disk/io/power faults).
    dataLayer: (n) =>
      n === 'cloud'
        ? undefined
        : { ctl: ['ec-fusefs', 'ctl', 's'], tool: ['ec-fusefs'], backingDir: '/d', sizeBytes: 2 ** 26 },
  };
  plan.faults.forEach((f, i) =>
    atFault(i, () => {
      if (skip(f)) return;
      if (isKubeFault(f.kind))
        throw new UsageError(
          `fault ${f.id} ${f.kind} acts on Kubernetes: run it with --target kube-local, kind or kube`,
          { field: 'kind' },
        );
      planFault(asFault(f), ctx);
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

/** Adapt any target's Deployment to what a campaign needs. */
export function campaignPort(dep: Deployment, stack: StackManifest, runDir: string): CampaignDeployment {
  return {
    target: dep.target,
    edges: dep.edges,
    hubUrl: dep.hubUrl,
    async applyFault(f, registry, signal): Promise<AppliedFault> {
      return applyFault(dep, asFault(f), registry, { signal });
    },
    async usage(node) {
      const s = await dep.stats(node);
      return { peakRssBytes: s.peakMemoryBytes, cpuSeconds: s.cpuSeconds, memoryBytes: s.memoryBytes };
    },
    async uplinkBytes(node) {
      const u = await dep.uplinkBytes(node);
      return u.sent + u.received;
    },
    unplannedExits: (node) => dep.exits().filter((e) => e.node === node && !e.expected).length,
    async coldStarts(samples, signal) {
      // A fresh agent (new data dir, its own port, offline so it needs no cloud) on the first edge, inside
      // that board's cgroup: process start → first 200 on /healthz, as the client side sees it.
      const edge = dep.edges[0]!;
      const node = dep.node(edge.name);
      const out: number[] = [];
      const { CleanupRegistry, newRunId } = await import('../core/cleanup/registry.ts');
      await using reg = CleanupRegistry.open(newRunId('coldstart'));
      for (let i = 0; i < samples; i++) {
        const port = 17100 + i;
        const data = mkdtempSync(join(runDir, `cold-${i}-`));
        const argv = [
          'env',
          ...Object.entries(stack.edge.env).map(([k, v]) => `${k}=${v}`),
          `EDGE_NODE_ID=${edge.name}-cold-${i}`,
          `EDGE_LISTEN=${node.address}:${port}`,
          'CLOUD_URL=http://127.0.0.1:9',
          'EDGE_MODE=offline',
          `EDGE_DATA_DIR=${data}`,
          ...stack.edge.command,
        ];
        const url = `http://${node.address}:${port}${stack.edge.health}`;
        const t0 = performance.now();
        const p = await dep.shell(edge.name).spawn(argv, {
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
    },
    control(node) {
      let cut: AppliedFault | undefined;
      return {
        cutCloud: async () => {
          const { CleanupRegistry, newRunId } = await import('../core/cleanup/registry.ts');
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
    },
    teardown: () => dep.teardown(),
  };
}

export const localDeployer: Deployer = Object.assign(
  async (args: Parameters<Deployer>[0]) => {
    prevalidateFaults(args.plan);
    const dep = await deployLocal(args);
    return campaignPort(dep, args.stack, args.runDir);
  },
  {
    preflight: (plan: Plan): Promise<void> => {
      prevalidateFaults(plan);
      return Promise.resolve();
    },
  },
);

/** The scenario's nodes as namespaces + cgroups on this host (the local target). */
export function deployLocal({
  scenario,
  plan,
  stack,
  registry,
  runDir,
  runId,
  signal,
}: Parameters<Deployer>[0]): Promise<Deployment> {
  return new LocalTarget().deploy(
    stack,
    {
      edges: plan.nodes.map((n) => ({ name: n.name, profile: n.profile })),
      edgeMode: scenario.edgeMode,
      ...(scenario.target.subnet ? { subnet: scenario.target.subnet } : {}),
    },
    { runId, runDir, registry, signal },
  );
}
