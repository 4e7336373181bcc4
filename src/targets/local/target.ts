import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnRegistered, type CleanupHandle } from '../../core/cleanup/registry.ts';
import { deadline, waitFor } from '../../core/deadline.ts';
import { ScenarioError, TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { run } from '../../core/proc.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { requireTool } from '../../tools/find.ts';
import type { DeployOptions, Target, Topology } from '../types.ts';
import { LocalDeployment, revertHandles } from './deployment.ts';
import { setupDataDirs } from './data-dir.ts';
import { localNames } from './names.ts';
import { profileToxics, resolveProfile } from './profiles.ts';
import './reverters.ts';
import type { LocalDeploymentState } from './state.ts';
import { formatCidr, pickRunSubnet, runAddresses, type Cidr } from './subnet.ts';
import { acquireFileLock } from '../../core/file-lock.ts';
import { planTopology } from './topology-plan.ts';
import { prepareOciNodes } from './oci/node.ts';

const log = logger('local');

export const defaultSubnetPool = '10.77.0.0/16';

/** Run `fn` over items with at most `limit` in flight. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/** Validate the topology (pure): names, profiles; errors name the field before anything is created. */
export function resolveTopology(
  t: Topology,
): { name: string; profile: string; limits: ReturnType<typeof resolveProfile>['limits'] }[] {
  if (t.edges.length < 1) throw new ScenarioError('at least one edge node is needed', { field: 'nodes' });
  const seen = new Set<string>();
  return t.edges.map((e, i) => {
    if (!/^edge-[a-z0-9-]{1,24}$/.test(e.name))
      throw new ScenarioError(`edge node name "${e.name}" must look like edge-1`, {
        field: `nodes[${i}].name`,
      });
    if (seen.has(e.name))
      throw new ScenarioError(`edge node "${e.name}" appears twice`, { field: `nodes[${i}].name` });
    seen.add(e.name);
    const p = resolveProfile(e.profile, `nodes[${i}].profile`);
    return { name: e.name, profile: p.name, limits: p.limits };
  });
}

/** The machine-wide lock around picking a run's /24 (one host, one routing table). */
const subnetLock = '/run/edgechaos/local-subnet.lock';

async function hostRoutes(): Promise<string[]> {
  const r = await run(['ip', '-4', '-j', 'route', 'show', 'table', 'all']);
  const routes = JSON.parse(r.stdout) as { dst: string }[];
  return routes.map((x) => (x.dst === 'default' ? '0.0.0.0/0' : x.dst));
}

type RunPlan = ReturnType<typeof planTopology>;

/**
 * Pick the run's /24 and plan the topology under the subnet lock (taken across edgechaos processes
 * until the bridge's route exists): the caller releases it with `releaseSubnet`.
 */
async function planUnderSubnetLock(
  stack: StackManifest,
  topology: Topology,
  opts: DeployOptions,
  names: ReturnType<typeof localNames>,
  edges: ReturnType<typeof resolveTopology>,
): Promise<{ cidr: Cidr; client: string; plan: RunPlan; releaseSubnet: () => void }> {
  // Picking the /24 and taking it (the bridge's address route) is one step across edgechaos
  // processes — all of the machine's, whatever their state dir: the routes are the host's.
  mkdirSync(dirname(subnetLock), { recursive: true });
  const releaseSubnet = await acquireFileLock(subnetLock, {
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  try {
    const cidr = pickRunSubnet(topology.subnet ?? defaultSubnetPool, await hostRoutes());
    const addresses = runAddresses(cidr, edges.length);
    const plan = planTopology({
      names,
      addresses,
      runDir: opts.runDir,
      stack,
      edges,
      edgeMode: topology.edgeMode ?? 'auto',
    });
    return { cidr, client: addresses.client, plan, releaseSubnet };
  } catch (err) {
    releaseSubnet();
    throw err;
  }
}

/** Bridge, veths, namespaces (journaled first) and the nft accounting; the subnet lock goes once the bridge exists. */
async function createNetwork(
  opts: DeployOptions,
  plan: RunPlan,
  bridge: string,
  handles: CleanupHandle[],
  releaseSubnet: () => void,
): Promise<void> {
  const { registry } = opts;
  handles.push(
    registry.add('link-set', `bridge and veths of ${opts.runId}`, {
      names: [bridge, ...plan.nodes.map((n) => n.hostVeth)],
    }),
  );
  handles.push(
    registry.add('netns-set', `namespaces of ${opts.runId}`, { names: plan.nodes.map((n) => n.netns) }),
  );
  try {
    await run(['ip', '-batch', '-'], { input: plan.rootBatch.join('\n') + '\n' });
  } finally {
    releaseSubnet();
  }
  await mapLimit(plan.nsBatch, 8, (b) =>
    run(['ip', '-n', b.netns, '-batch', '-'], { input: b.lines.join('\n') + '\n' }),
  );
  await mapLimit(plan.nftAcct, 8, (a) =>
    run(['ip', 'netns', 'exec', a.netns, 'nft', '-f', '-'], { input: a.script }),
  );
}

/** toxiproxy-server in the cloud namespace (journaled), detached from this process. */
async function startToxiproxy(
  opts: DeployOptions,
  plan: RunPlan,
  cloudNetns: string,
): Promise<Awaited<ReturnType<typeof spawnRegistered>>> {
  const toxi = await spawnRegistered(
    opts.registry,
    `toxiproxy-server of ${opts.runId}`,
    [
      'ip',
      'netns',
      'exec',
      cloudNetns,
      requireTool('toxiproxy-server'),
      '-host',
      plan.toxiproxy.host,
      '-port',
      String(plan.toxiproxy.port),
    ],
    { logFile: join(opts.runDir, 'logs', 'toxiproxy.log') },
  );
  toxi.proc.child.unref();
  return toxi;
}

/** Once toxiproxy answers: one proxy per edge uplink, and the board profiles' default uplink toxics. */
async function configureUplinks(
  api: string,
  toxi: Awaited<ReturnType<typeof spawnRegistered>>,
  plan: RunPlan,
  signal: AbortSignal | undefined,
): Promise<void> {
  await Promise.race([
    waitFor(async () => ((await fetch(`${api}/version`)).ok ? true : undefined), {
      signal: deadline(10_000, `toxiproxy at ${api} to answer`, signal),
      intervalMs: 10,
    }),
    toxi.proc.exited.then((e) => {
      throw new TargetError(`toxiproxy-server exited (${e.code ?? e.signal}); see ${toxi.proc.logFile}`);
    }),
  ]);
  const proxies = plan.nodes.flatMap((n) => (n.proxy ? [{ ...n.proxy, enabled: true }] : []));
  const res = await fetch(`${api}/populate`, { method: 'POST', body: JSON.stringify(proxies) });
  if (!res.ok) throw new TargetError(`toxiproxy populate: HTTP ${res.status} ${await res.text()}`);
  // Board profiles with a default uplink: toxics on the edge's own proxy.
  for (const n of plan.nodes) {
    if (!n.proxy || !n.limits) continue;
    for (const t of profileToxics(n.limits)) {
      const r = await fetch(`${api}/proxies/${n.proxy.name}/toxics`, {
        method: 'POST',
        body: JSON.stringify(t),
      });
      if (!r.ok)
        throw new TargetError(`toxiproxy: profile toxic on ${n.name}: HTTP ${r.status}`, {
          node: n.name,
        });
    }
  }
}

/**
 * The embedded target: every node a network namespace on one bridge, edges in cgroups that emulate
 * their board, edge → cloud traffic through one toxiproxy proxy per edge (toxiproxy runs in the cloud
 * namespace), the root namespace as the client side reaching every edge directly.
 */
export class LocalTarget implements Target {
  readonly name = 'local';

  async deploy(stack: StackManifest, topology: Topology, opts: DeployOptions): Promise<LocalDeployment> {
    const edges = resolveTopology(topology);
    const names = localNames(opts.runId);
    requireTool('toxiproxy-server'); // before anything is taken
    const locked = await planUnderSubnetLock(stack, topology, opts, names, edges);
    const { cidr, client, plan, releaseSubnet } = locked;
    const { registry } = opts;
    const handles: CleanupHandle[] = [];
    const state: LocalDeploymentState = {
      version: 1,
      target: 'local',
      runId: opts.runId,
      runDir: opts.runDir,
      subnet: formatCidr(cidr),
      client,
      bridge: names.bridge,
      toxiproxyApi: `http://${plan.toxiproxy.host}:${plan.toxiproxy.port}`,
      stackToken: names.stackToken,
      journal: registry.journalPath,
      createdAt: new Date().toISOString(),
      nodes: plan.nodes,
    };
    const dep = new LocalDeployment(state, () => revertHandles(handles));
    const t0 = performance.now();
    const lap = (what: string): void => log.debug(`${what} after ${Math.round(performance.now() - t0)} ms`);
    try {
      mkdirSync(join(opts.runDir, 'logs'), { recursive: true });
      handles.push(
        registry.add('dir', `data dirs of ${opts.runId}`, {
          path: join(opts.runDir, 'data'),
          root: opts.runDir,
        }),
      );
      mkdirSync(join(opts.runDir, 'data'), { recursive: true });
      await createNetwork(opts, plan, names.bridge, handles, releaseSubnet);
      lap('network');
      handles.push(registry.add('cgroup', `cgroups of ${opts.runId}`, { paths: plan.cgroupDirs }));
      for (const d of plan.cgroupDirs) mkdirSync(d);
      for (const w of plan.cgroupWrites) writeFileSync(w.file, w.value);
      lap('cgroups');
      const dd = { registry, runId: opts.runId, runDir: opts.runDir };
      handles.push(...(await setupDataDirs(plan.nodes, opts.signal ? { ...dd, signal: opts.signal } : dd)));
      lap('data dirs');
      handles.push(registry.add('process', `stack processes of ${opts.runId}`, { token: names.stackToken }));
      // --runtime oci: journal the containers, unpack the images, write the bundles (src/targets/local/oci)
      const oci = await prepareOciNodes({
        registry,
        stack,
        nodes: plan.nodes,
        runId: opts.runId,
        runDir: opts.runDir,
        stackToken: names.stackToken,
        archOf: (name) => topology.edges.find((e) => e.name === name)?.arch,
      });
      handles.push(...oci.handles);

      const toxi = await startToxiproxy(opts, plan, dep.local('cloud').netns);
      state.toxiproxyPid = toxi.proc.pid;
      handles.push(toxi.handle);
      await Promise.all([
        dep.startStack('cloud', opts.signal),
        configureUplinks(state.toxiproxyApi, toxi, plan, opts.signal),
      ]);
      lap('hub and uplink proxies');
      await mapLimit(
        plan.nodes.filter((n) => n.role === 'edge'),
        64,
        (n) => dep.startStack(n.name, opts.signal),
      );
      lap('edges healthy');
    } catch (err) {
      releaseSubnet();
      await dep.teardown().catch((e: unknown) => log.error(`teardown after failed deploy: ${String(e)}`));
      throw err;
    }
    return dep;
  }
}
