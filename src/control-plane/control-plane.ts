import { generateKeyPairSync, randomBytes } from 'node:crypto';
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
  async loseNode(name: string): Promise<void> {
    await this.setManaged(name, KWOK_LOST);
  }

  /** The node's heartbeat comes back; resolves once it is Ready and untainted again. */
  async restoreNode(name: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.setManaged(name, KWOK_MANAGED);
    const api = this.kubeConfig().makeApiClient(CoreV1Api);
    const signal = deadline(60_000, `node ${name} healthy again`, opts.signal);
    for (;;) {
      const node = await api.readNode({ name }).catch(() => undefined);
      if (node && isNodeHealthy(node)) return;
      await sleep(200, signal);
    }
  }

  /** Node loss as the rescheduling check drives it: kwok stops (and resumes) the node's heartbeat. */
  nodeLossDriver(): {
    mechanism: string;
    lose(node: string): Promise<void>;
    restore(node: string, opts?: { signal?: AbortSignal }): Promise<void>;
  } {
    return {
      mechanism: `kwok heartbeat stopped (lease ${this.timings.nodeLeaseSeconds} s, grace ${this.timings.nodeMonitorGraceSeconds} s, toleration ${this.timings.evictionTolerationSeconds} s)`,
      lose: (node) => this.loseNode(node),
      restore: (node, opts) => this.restoreNode(node, opts),
    };
  }

  private async setManaged(name: string, value: string): Promise<void> {
    const api = this.kubeConfig().makeApiClient(CoreV1Api);
    await api.patchNode(
      { name, body: { metadata: { labels: { [KWOK_MANAGED_LABEL]: value } } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
  }

  get running(): boolean {
    return !this.stopped && this.procs.every((p) => p.proc.running);
  }

  /** Stop every component (kwok first, etcd last) through the cleanup registry; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const errors: unknown[] = [];
    for (const p of [...this.procs].reverse()) {
      await p.handle.revert().catch((e: unknown) => errors.push(e));
    }
    if (this.ownDir) await this.ownDir.revert().catch((e: unknown) => errors.push(e));
    if (errors.length)
      throw new TargetError(`stopping the control plane: ${String(errors[0])}`, { cause: errors[0] });
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
  const bins = {
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
    const ports: ControlPlanePorts = {
      etcdClient: await freePort(),
      etcdPeer: await freePort(),
      apiserver: await freePort(),
      controllerManager: await freePort(),
      scheduler: await freePort(),
    };
    const users = staticUsers();
    for (const u of users) registerSecret(u.token);
    writeFileSync(layout.tokens, tokenAuthFile(users), { mode: 0o600 });
    const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    writeFileSync(layout.saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(layout.saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(
      layout.kwokConfig,
      readFileSync(join(repoRoot, 'src', 'control-plane', 'stages', 'kwok-stages.yaml'), 'utf8'),
    );

    const start = async (name: string, argv: string[]): Promise<ManagedProcess> => {
      const { proc, handle } = await spawnRegistered(opts.registry, `kube ${name}`, argv, {
        logFile: layout.log(name),
      });
      procs.push({ name, proc, handle });
      return proc;
    };
    /** Poll until `probe` is true; fail at once with the log tail if the process exits. */
    const until = async (
      name: string,
      proc: ManagedProcess,
      probe: () => Promise<boolean>,
    ): Promise<void> => {
      for (;;) {
        if (!proc.running) {
          throw new TargetError(`${name} exited during start-up:\n${tail(layout.log(name))}`);
        }
        if (await probe().catch(() => false)) return;
        try {
          await sleep(100, signal);
        } catch (err) {
          if (err instanceof TimeoutError)
            throw new TimeoutError(
              `${err.message}: waiting for ${name}; log ${layout.log(name)}:\n${tail(layout.log(name))}`,
            );
          throw err;
        }
      }
    };

    const etcd = await start('etcd', etcdArgs(bins.etcd, ports, layout));
    await until('etcd', etcd, async () => {
      const r = await fetch(`http://127.0.0.1:${ports.etcdClient}/health`, {
        signal: AbortSignal.timeout(1000),
      });
      return r.ok && ((await r.json()) as { health?: string }).health === 'true';
    });
    const tEtcd = since();

    const admin = users.find((u) => u.name === 'admin')!;
    const apiserver = await start('kube-apiserver', apiserverArgs(bins.hyperkube, ports, layout, timings));
    const server = `https://127.0.0.1:${ports.apiserver}`;
    await until('kube-apiserver', apiserver, async () => {
      if (!existsSync(layout.servingCert)) return false;
      const r = await httpsGet(`${server}/readyz`, {
        ca: readFileSync(layout.servingCert, 'utf8'),
        token: admin.token,
      });
      return r.status === 200;
    });
    const tApiserver = since();
    const caPem = readFileSync(layout.servingCert, 'utf8');
    for (const u of users) {
      writeFileSync(
        layout.kubeconfig(u.name),
        JSON.stringify(kubeconfig({ server, caPem, user: u.user, token: u.token }), null, 2),
        { mode: 0o600 },
      );
    }

    const cm = await start(
      'kube-controller-manager',
      controllerManagerArgs(bins.hyperkube, ports, layout, timings),
    );
    const sched = await start('kube-scheduler', schedulerArgs(bins.hyperkube, ports, layout));
    const kwok = await start('kwok', kwokArgs(bins.kwok, layout, timings));
    const healthz = (port: number) => async (): Promise<boolean> =>
      (await httpsGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200;
    await Promise.all([
      until('kube-controller-manager', cm, healthz(ports.controllerManager)),
      until('kube-scheduler', sched, healthz(ports.scheduler)),
    ]);
    const tComponents = since();

    const kc = new KubeConfig();
    kc.loadFromFile(layout.kubeconfig('admin'));
    const api = kc.makeApiClient(CoreV1Api);
    await Promise.all(nodes.map((n) => api.createNode({ body: fakeNode(n) })));
    const want = new Set(nodes.map((n) => n.name));
    await until('kwok', kwok, async () => {
      const list = await api.listNode();
      const healthy = list.items.filter((n: V1Node) => want.has(n.metadata?.name ?? '') && isNodeHealthy(n));
      return healthy.length === want.size;
    });
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
