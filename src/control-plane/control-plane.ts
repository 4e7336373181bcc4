import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { revertLastFirst } from '../core/cleanup/revert-stack.ts';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, setHeaderOptions, type V1Node } from '@kubernetes/client-node';
import type { CleanupHandle, CleanupRegistry } from '../core/cleanup/registry.ts';
import { spawnRegistered } from '../core/cleanup/registry.ts';
import { deadline, sleep } from '../core/deadline.ts';
import { TargetError, TimeoutError } from '../core/errors.ts';
import { logger, registerSecret } from '../core/logger.ts';
import { freePort } from '../core/net.ts';
import type { ManagedProcess } from '../core/proc.ts';
import { repoRoot } from '../core/paths.ts';
import { requireTool } from '../tools/find.ts';
import {
  apiserverArgs,
  controllerManagerArgs,
  controlPlaneLayout,
  defaultNodeLossTimings,
  etcdArgs,
  KWOK_LOST,
  KWOK_MANAGED,
  KWOK_MANAGED_LABEL,
  kwokArgs,
  schedulerArgs,
  type ControlPlaneLayout,
  type ControlPlanePorts,
  type NodeLossTimings,
} from './component-args.ts';
import { httpsGet } from './https-probe.ts';
import { kubeconfig, tokenAuthFile, type StaticTokenUser } from './kubeconfig.ts';
import { defaultNodes, fakeNode, isNodeHealthy, type FakeNodeSpec } from './nodes.ts';
import { kubeBinary, readKubeLock } from './tools.ts';

const log = logger('kube');

export interface ControlPlaneOptions {
  /** Fake nodes: a count (1 cloud + n-1 edge) or explicit specs. */
  nodes: number | readonly FakeNodeSpec[];
  registry: CleanupRegistry;
  /** Run dir for certificates, kubeconfigs, etcd data and logs; a temp dir (removed on stop) when absent. */
  dir?: string;
  timings?: Partial<NodeLossTimings>;
  /** Whole start-up budget (default 180 s; a loaded 2-core machine needs ~20 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Milliseconds from the start call until each phase finished. */
export interface StartupPhases {
  etcd: number;
  apiserver: number;
  components: number;
  nodes: number;
}

/** Users with static tokens: the admin, one per component, and `nobody` (no RBAC bindings). */
const USERS = ['admin', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'nobody'] as const;
export type ControlPlaneUser = (typeof USERS)[number];

function staticUsers(): (StaticTokenUser & { name: ControlPlaneUser })[] {
  const userName: Record<ControlPlaneUser, string> = {
    admin: 'edgechaos-admin',
    'kube-controller-manager': 'system:kube-controller-manager',
    'kube-scheduler': 'system:kube-scheduler',
    kwok: 'kwok',
    nobody: 'edgechaos-nobody',
  };
  return USERS.map((name) => ({
    name,
    token: randomBytes(24).toString('hex'),
    user: userName[name],
    uid: name,
    groups: name === 'nobody' ? ['system:authenticated'] : ['system:masters'],
  }));
}

export interface KwokNodeLoss {
  mechanism: string;
  lose(node: string): Promise<void>;
  restore(node: string, opts?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * Node loss on an embedded control plane, through its API alone (so a later process can drive it too):
 * kwok stops heartbeating a node relabelled "lost"; restore relabels it and waits until it is Ready
 * and untainted again.
 */
export function kwokNodeLoss(
  kc: KubeConfig,
  timings: NodeLossTimings = defaultNodeLossTimings,
): KwokNodeLoss {
  const api = kc.makeApiClient(CoreV1Api);
  const setManaged = (name: string, value: string): Promise<V1Node> =>
    api.patchNode(
      { name, body: { metadata: { labels: { [KWOK_MANAGED_LABEL]: value } } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
  return {
    mechanism: `kwok heartbeat stopped (lease ${timings.nodeLeaseSeconds} s, grace ${timings.nodeMonitorGraceSeconds} s, toleration ${timings.evictionTolerationSeconds} s)`,
    lose: async (node) => void (await setManaged(node, KWOK_LOST)),
    restore: async (node, opts = {}) => {
      await setManaged(node, KWOK_MANAGED);
      const signal = deadline(60_000, `node ${node} healthy again`, opts.signal);
      for (;;) {
        const n = await api.readNode({ name: node }).catch(() => undefined);
        if (n && isNodeHealthy(n)) return;
        await sleep(200, signal);
      }
    },
  };
}

/** A running embedded control plane; `await using cp = await startControlPlane(...)` stops it. */
export class StartedControlPlane {
  private stopped = false;

  constructor(
    readonly dir: string,
    readonly server: string,
    readonly nodes: readonly FakeNodeSpec[],
    readonly timings: NodeLossTimings,
    /** Start call → every node Ready, in ms. */
    readonly readyMs: number,
    readonly phases: StartupPhases,
    private readonly layout: ControlPlaneLayout,
    private readonly procs: { name: string; proc: ManagedProcess; handle: CleanupHandle }[],
    private readonly ownDir: CleanupHandle | undefined,
  ) {}

  /** Path of the kubeconfig for `user` (default: the cluster admin). */
  kubeconfigPath(user: ControlPlaneUser = 'admin'): string {
    return this.layout.kubeconfig(user);
  }

  kubeConfig(user: ControlPlaneUser = 'admin'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath(user));
    return kc;
  }

  logFile(component: string): string {
    return this.layout.log(component);
  }

  /** Node loss: kwok stops heartbeating the node (its lease expires, the node-lifecycle controller taints and evicts). */
  loseNode(name: string): Promise<void> {
    return kwokNodeLoss(this.kubeConfig(), this.timings).lose(name);
  }

  /** The node's heartbeat comes back; resolves once it is Ready and untainted again. */
  restoreNode(name: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    return kwokNodeLoss(this.kubeConfig(), this.timings).restore(name, opts);
  }

  /** Node loss as the rescheduling check drives it: kwok stops (and resumes) the node's heartbeat. */
  nodeLossDriver(): KwokNodeLoss {
    return kwokNodeLoss(this.kubeConfig(), this.timings);
  }

  /** Let this process exit while the control plane keeps running (a detached deployment). */
  detach(): void {
    for (const p of this.procs) p.proc.child.unref();
  }

  get running(): boolean {
    return !this.stopped && this.procs.every((p) => p.proc.running);
  }

  /** Stop every component (kwok first, etcd last) through the cleanup registry; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // kwok first, etcd last; the run's own dir after them
    await revertLastFirst([...(this.ownDir ? [this.ownDir] : []), ...this.procs.map((p) => p.handle)]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function tail(file: string, lines = 8): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

type Bins = { etcd: string; hyperkube: string; kwok: string };
type Users = ReturnType<typeof staticUsers>;

/** Starting the control plane's processes: each registered before it starts, then polled until ready. */
class Boot {
  constructor(
    private readonly registry: CleanupRegistry,
    readonly layout: ControlPlaneLayout,
    private readonly procs: { name: string; proc: ManagedProcess; handle: CleanupHandle }[],
    private readonly signal: AbortSignal,
  ) {}

  async start(name: string, argv: string[]): Promise<ManagedProcess> {
    const { proc, handle } = await spawnRegistered(this.registry, `kube ${name}`, argv, {
      logFile: this.layout.log(name),
    });
    this.procs.push({ name, proc, handle });
    return proc;
  }

  /** Poll until `probe` is true; fail at once with the log tail if the process exits. */
  async until(name: string, proc: ManagedProcess, probe: () => Promise<boolean>): Promise<void> {
    const logFile = this.layout.log(name);
    for (;;) {
      if (!proc.running) {
        throw new TargetError(`${name} exited during start-up:\n${tail(logFile)}`);
      }
      if (await probe().catch(() => false)) return;
      try {
        await sleep(100, this.signal);
      } catch (err) {
        if (err instanceof TimeoutError)
          throw new TimeoutError(`${err.message}: waiting for ${name}; log ${logFile}:\n${tail(logFile)}`);
        throw err;
      }
    }
  }
}

async function allocatePorts(): Promise<ControlPlanePorts> {
  return {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
  };
}

/** The static tokens, the service-account key pair and kwok's stages, in the run dir. */
function writeAuthFiles(layout: ControlPlaneLayout, users: Users): void {
  for (const u of users) registerSecret(u.token);
  writeFileSync(layout.tokens, tokenAuthFile(users), { mode: 0o600 });
  const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(layout.saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(layout.saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(
    layout.kwokConfig,
    readFileSync(join(repoRoot, 'src', 'control-plane', 'stages', 'kwok-stages.yaml'), 'utf8'),
  );
}

async function startEtcd(b: Boot, bin: string, ports: ControlPlanePorts): Promise<void> {
  const etcd = await b.start('etcd', etcdArgs(bin, ports, b.layout));
  await b.until('etcd', etcd, async () => {
    const r = await fetch(`http://127.0.0.1:${ports.etcdClient}/health`, {
      signal: AbortSignal.timeout(1000),
    });
    return r.ok && ((await r.json()) as { health?: string }).health === 'true';
  });
}

/** kube-apiserver until /readyz, then a kubeconfig per user; returns the server URL. */
async function startApiserver(
  b: Boot,
  bin: string,
  ports: ControlPlanePorts,
  timings: NodeLossTimings,
  users: Users,
): Promise<string> {
  const { layout } = b;
  const admin = users.find((u) => u.name === 'admin')!;
  const apiserver = await b.start('kube-apiserver', apiserverArgs(bin, ports, layout, timings));
  const server = `https://127.0.0.1:${ports.apiserver}`;
  await b.until('kube-apiserver', apiserver, async () => {
    if (!existsSync(layout.servingCert)) return false;
    const r = await httpsGet(`${server}/readyz`, {
      ca: readFileSync(layout.servingCert, 'utf8'),
      token: admin.token,
    });
    return r.status === 200;
  });
  const caPem = readFileSync(layout.servingCert, 'utf8');
  for (const u of users) {
    writeFileSync(
      layout.kubeconfig(u.name),
      JSON.stringify(kubeconfig({ server, caPem, user: u.user, token: u.token }), null, 2),
      { mode: 0o600 },
    );
  }
  return server;
}

/** Controller manager and scheduler until healthy; kwok started (ready once it has made the nodes Ready). */
async function startComponents(
  b: Boot,
  bins: Bins,
  ports: ControlPlanePorts,
  timings: NodeLossTimings,
): Promise<ManagedProcess> {
  const { layout } = b;
  const cm = await b.start(
    'kube-controller-manager',
    controllerManagerArgs(bins.hyperkube, ports, layout, timings),
  );
  const sched = await b.start('kube-scheduler', schedulerArgs(bins.hyperkube, ports, layout));
  const kwok = await b.start('kwok', kwokArgs(bins.kwok, layout, timings));
  const healthz = (port: number) => async (): Promise<boolean> =>
    (await httpsGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200;
  await Promise.all([
    b.until('kube-controller-manager', cm, healthz(ports.controllerManager)),
    b.until('kube-scheduler', sched, healthz(ports.scheduler)),
  ]);
  return kwok;
}

/** Create the fake nodes and wait until kwok reports every one of them healthy. */
async function createNodes(b: Boot, kwok: ManagedProcess, nodes: readonly FakeNodeSpec[]): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(b.layout.kubeconfig('admin'));
  const api = kc.makeApiClient(CoreV1Api);
  await Promise.all(nodes.map((n) => api.createNode({ body: fakeNode(n) })));
  const want = new Set(nodes.map((n) => n.name));
  await b.until('kwok', kwok, async () => {
    const list = await api.listNode();
    const healthy = list.items.filter((n: V1Node) => want.has(n.metadata?.name ?? '') && isNodeHealthy(n));
    return healthy.length === want.size;
  });
}

/**
 * Start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on 127.0.0.1,
 * create the fake nodes and wait until all of them are Ready. Every process is registered in the
 * cleanup registry before it starts, so `edgechaos cleanup` stops them after a crash.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<StartedControlPlane> {
  const t0 = performance.now();
  const since = (): number => Math.round(performance.now() - t0);
  const timings = { ...defaultNodeLossTimings, ...opts.timings };
  const nodes = typeof opts.nodes === 'number' ? defaultNodes(opts.nodes) : [...opts.nodes];
  const lock = readKubeLock();
  const bins: Bins = {
    etcd: kubeBinary('etcd', lock),
    hyperkube: kubeBinary('hyperkube', lock),
    kwok: requireTool('kwok'),
  };

  let ownDir: CleanupHandle | undefined;
  let dir = opts.dir;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'edgechaos-kube-'));
    ownDir = opts.registry.add('dir', `control-plane dir ${dir}`, { path: dir });
  }
  const layout = controlPlaneLayout(dir);
  const procs: { name: string; proc: ManagedProcess; handle: CleanupHandle }[] = [];
  const partial = new StartedControlPlane(dir, '', nodes, timings, 0, zeroPhases(), layout, procs, ownDir);
  const signal = deadline(opts.timeoutMs ?? 180_000, 'embedded control plane start', opts.signal);

  try {
    mkdirSync(layout.pki, { recursive: true });
    mkdirSync(join(dir, 'logs'), { recursive: true });
    const ports = await allocatePorts();
    const users = staticUsers();
    writeAuthFiles(layout, users);
    const b = new Boot(opts.registry, layout, procs, signal);
    await startEtcd(b, bins.etcd, ports);
    const tEtcd = since();
    const server = await startApiserver(b, bins.hyperkube, ports, timings, users);
    const tApiserver = since();
    const kwok = await startComponents(b, bins, ports, timings);
    const tComponents = since();
    await createNodes(b, kwok, nodes);
    const tNodes = since();
    log.info(
      `control plane ready in ${tNodes} ms (etcd ${tEtcd}, apiserver ${tApiserver}, components ${tComponents}, ${nodes.length} nodes ${tNodes}) at ${server}`,
    );
    return new StartedControlPlane(
      dir,
      server,
      nodes,
      timings,
      tNodes,
      { etcd: tEtcd, apiserver: tApiserver, components: tComponents, nodes: tNodes },
      layout,
      procs,
      ownDir,
    );
  } catch (err) {
    await partial.stop().catch((e: unknown) => log.error(`cleanup after failed start: ${String(e)}`));
    throw err;
  }
}

function zeroPhases(): StartupPhases {
  return { etcd: 0, apiserver: 0, components: 0, nodes: 0 };
}
