import { join } from 'node:path';
import { CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { revertLastFirst } from '../../core/cleanup/revert-stack.ts';
import type { FaultSurface } from '../../../faults/capabilities.ts';
import { faultSurface } from '../surface.ts';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { edgeStatus } from '../../contract/client.ts';
import { deadline, sleep } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import type { RunResult } from '../../core/proc.ts';
import { logger } from '../../core/logger.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import type {
  Deployment,
  EdgeEndpoint,
  NodeInfo,
  NodeShell,
  NodeStats,
  ProcessExit,
  UplinkBytes,
  UplinkProxy,
} from '../types.ts';
import {
  DockerNodeShell,
  dockerExecArgv,
  dockerExecutor,
  NODE_TOOLS_SCRIPT,
  type DockerExecutor,
} from './docker-shell.ts';
import { ObjectStore } from './object-store.ts';
import { POD_LOGS_DIR, savePodLogs } from './pod-logs.ts';
import type { KubeTarget } from './target.ts';
import { createUplinkProxy, UPLINK_API_PORT, UPLINK_PROXY } from './uplink.ts';

const log = logger('cluster-deployment');

/**
 * The reference stack on a Kubernetes cluster whose nodes are containers (Kind; k3d works the same),
 * as the target-neutral `Deployment`: the fault catalogue (faults/) runs unchanged through a
 * `docker exec` NodeShell. The edge agents and the hub run with hostNetwork (stack/deploy/), so a
 * node's address is its InternalIP, clients reach an edge at <node IP>:<edge port>, and nft rules in
 * the node act on the agent's own traffic.
 *
 * Uplink toxics work as on the local target: a toxiproxy per edge node (./uplink.ts) sits between
 * the agent and the hub.
 *
 * What differs from the local target, and why:
 * - freeze (`pause`) is `docker pause` of the node container (its cgroup freezer); `sigstop` stops
 *   the agent's processes.
 * - a killed agent is restarted by the kubelet, so `startStack` waits for health instead of starting.
 * - helpers (stress) run in the node container, not in the agent's pod cgroup; stress is the
 *   bundled static ec-stress (same flags as stress-ng), copied into every node.
 * - nft is installed in a node that lacks it, with its own apt (NODE_TOOLS_SCRIPT).
 */

/** Pure: scenario node names (cloud, edge-1…) → cluster nodes, by role label then name. */
export function mapNodes(
  clusterNodes: readonly V1Node[],
  edges: readonly string[],
): { name: string; role: 'edge' | 'cloud'; k8s: string; address: string }[] {
  const role = (n: V1Node): string | undefined => n.metadata?.labels?.['edgechaos.io/role'];
  const ip = (n: V1Node): string | undefined =>
    n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const byName = (a: V1Node, b: V1Node): number => a.metadata!.name!.localeCompare(b.metadata!.name!);
  const clouds = clusterNodes.filter((n) => role(n) === 'cloud').sort(byName);
  const edgeNodes = clusterNodes.filter((n) => role(n) === 'edge').sort(byName);
  if (!clouds[0]) throw new TargetError('no node labelled edgechaos.io/role=cloud in the cluster');
  if (edgeNodes.length < edges.length)
    throw new TargetError(
      `the scenario has ${edges.length} edge nodes but the cluster has ${edgeNodes.length} labelled edgechaos.io/role=edge`,
    );
  const out: { name: string; role: 'edge' | 'cloud'; node: V1Node }[] = [
    { name: 'cloud', role: 'cloud', node: clouds[0] },
    ...edges.map((name, i) => ({ name, role: 'edge' as const, node: edgeNodes[i]! })),
  ];
  return out.map((x) => {
    const address = ip(x.node);
    if (!address) throw new TargetError(`node ${x.node.metadata!.name} reports no InternalIP`);
    return { name: x.name, role: x.role, k8s: x.node.metadata!.name!, address };
  });
}

/**
 * Pure: the nft table that counts an edge's bytes to and from the hub (the cloud node's hub port).
 * Only the hub's port: on a cluster the cloud node is also the control plane, and the node's kubelet,
 * kube-proxy and CNI talk to its API server all the time — not the stack's uplink traffic.
 */
export function accountingScript(table: string, cloud: string, hubPort: number): string {
  const hub = `ip daddr ${cloud} tcp dport ${hubPort}`;
  const fromHub = `ip saddr ${cloud} tcp sport ${hubPort}`;
  return [
    `create table inet ${table}`,
    `table inet ${table} {`,
    '  counter up {}',
    '  counter down {}',
    `  chain out { type filter hook output priority 0; policy accept; ${hub} counter name up; }`,
    `  chain in { type filter hook input priority 0; policy accept; ${fromHub} counter name down; }`,
    '}',
    '',
  ].join('\n');
}

/** Pure: bytes of the two named counters in `nft -j list table` output. */
export function parseCounters(json: string): UplinkBytes {
  const doc = JSON.parse(json) as { nftables?: { counter?: { name: string; bytes: number } }[] };
  const bytes = (name: string): number =>
    doc.nftables?.find((x) => x.counter?.name === name)?.counter?.bytes ?? 0;
  return { sent: bytes('up'), received: bytes('down') };
}

/** Pure: cgroup v2 files of the agent's pod (memory.current, memory.peak, cpu.stat, memory.events) → stats. */
export function parseCgroupStats(text: string): NodeStats {
  const kv = new Map<string, number>();
  const lines = text.split('\n');
  const current = Number(lines[0]);
  const peak = Number(lines[1]);
  for (const l of lines.slice(2)) {
    const [k, v] = l.trim().split(/\s+/);
    if (k && v !== undefined && Number.isFinite(Number(v))) kv.set(k, Number(v));
  }
  return {
    memoryBytes: Number.isFinite(current) ? current : 0,
    peakMemoryBytes: Number.isFinite(peak) ? peak : Number.isFinite(current) ? current : 0,
    memoryLimitBytes: undefined,
    cpuSeconds: (kv.get('usage_usec') ?? 0) / 1e6,
    throttledSeconds: (kv.get('throttled_usec') ?? 0) / 1e6,
    nrThrottled: kv.get('nr_throttled') ?? 0,
    oomKills: kv.get('oom_kill') ?? 0,
  };
}

/**
 * Fixed script; arguments: pod uid (underscores), signal name, process name. Signals every process of
 * that name in the pod's cgroup (so not the same binary in other pods, not the pod's pause process) and
 * prints how many.
 */
export const SIGNAL_POD =
  'd=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "*pod$0*" | head -n 1); test -n "$d" || exit 3; n=0; ' +
  'for p in $(cat $(find "$d" -name cgroup.procs)); do ' +
  '[ "$(cat /proc/$p/comm 2>/dev/null)" = "$2" ] && kill -s "$1" "$p" 2>/dev/null && n=$((n+1)); done; echo $n';

/**
 * Fixed script, pod uid as argument: print the pod cgroup's memory and CPU files — cgroup v2, or the
 * same figures from the v1 memory and cpuacct controllers (Kind nodes on a cgroup v1 host). Exit
 * NO_POD_CGROUP when the node has no cgroup of that pod.
 */
const POD_CGROUP_STATS =
  'd=$(find /sys/fs/cgroup -maxdepth 6 -type d -name "*pod$0*" | head -n 1); test -n "$d" || exit 3; ' +
  'if [ -f "$d/memory.current" ]; then cat "$d/memory.current"; cat "$d/memory.peak" 2>/dev/null || echo; cat "$d/cpu.stat" "$d/memory.events"; exit; fi; ' +
  'm=$(find /sys/fs/cgroup/memory -maxdepth 6 -type d -name "*pod$0*" | head -n 1); c=$(find -H /sys/fs/cgroup/cpuacct -maxdepth 6 -type d -name "*pod$0*" | head -n 1); ' +
  'test -n "$m" && test -n "$c" || exit 3; cat "$m/memory.usage_in_bytes" "$m/memory.max_usage_in_bytes"; ' +
  'echo "usage_usec $(( $(cat "$c/cpuacct.usage") / 1000 ))"; ' +
  'awk \'$1 == "nr_throttled" { print $1, $2 } $1 == "throttled_time" { print "throttled_usec", int($2 / 1000) }\' "$c/cpu.stat"; ' +
  'awk \'$1 == "oom_kill" { print $1, $2 }\' "$m/memory.oom_control"';

/** POD_CGROUP_STATS's exit code when the node has no cgroup of the pod (not started there, or gone). */
export const NO_POD_CGROUP = 3;

/**
 * Pure: the agent (or hub) pod of a cluster node that is there now — not being deleted, not ended
 * (a pod the kubelet rejected when its node came back stays Failed until its DaemonSet replaces it);
 * a running one first, then the newest.
 */
export function currentAgentPod(pods: Iterable<V1Pod>, k8sNode: string, app: string): V1Pod | undefined {
  const live = [...pods].filter(
    (p) =>
      p.spec?.nodeName === k8sNode &&
      p.metadata?.labels?.['app.kubernetes.io/name'] === app &&
      !p.metadata.deletionTimestamp &&
      p.status?.phase !== 'Failed' &&
      p.status?.phase !== 'Succeeded',
  );
  const rank = (p: V1Pod): number => (p.status?.phase === 'Running' ? 1 : 0);
  const born = (p: V1Pod): number => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
  return live.sort((a, b) => rank(b) - rank(a) || born(b) - born(a))[0];
}

/** Reads a pod's cgroup figures in its node (POD_CGROUP_STATS); the exit code tells "no such cgroup". */
export function podCgroupReader(shell: NodeShell): (uid: string) => Promise<RunResult> {
  return (uid) => shell.exec(['sh', '-c', POD_CGROUP_STATS, uid], { allowFailure: true });
}

/**
 * One stats read of a node's agent pod, pure but for the two functions it is given. The pod the watch
 * cache names is read first; when the node has no cgroup of it (a lost node's agent came back as a
 * new pod, or the cache lags), the pod the API server names now is read instead. No pod, or no
 * cgroup of the current pod yet (its node is back, the kubelet has not started it): no sample this
 * time (undefined). Any other failure of the read throws.
 */
export async function readPodStats(
  cached: string | undefined,
  current: () => Promise<string | undefined>,
  read: (uid: string) => Promise<RunResult>,
): Promise<NodeStats | undefined> {
  const attempt = async (uid: string): Promise<NodeStats | undefined> => {
    const r = await read(uid);
    if (r.code === 0) return parseCgroupStats(r.stdout);
    if (r.code === NO_POD_CGROUP) return undefined;
    throw new TargetError(`reading the cgroup of pod ${uid} failed (exit ${r.code}): ${r.stderr.trim()}`);
  };
  const first = cached === undefined ? undefined : await attempt(cached);
  if (first) return first;
  const now = await current();
  return now === undefined || now === cached ? undefined : attempt(now);
}

export interface ClusterDeploymentOptions {
  target: string;
  kube: KubeTarget;
  stack: StackManifest;
  /** Scenario edge names (edge-1, …). */
  edges: readonly string[];
  runId: string;
  runDir: string;
  registry: CleanupRegistry;
  exec?: DockerExecutor;
  /** The harness's address on the nodes' network (Kind: the docker bridge gateway). */
  clientAddress: string;
  /** More client addresses: the load node's, where `--load-replicas` pods run (partitions cut them too). */
  extraClientAddresses?: readonly string[];
  /**
   * Programs replaced in what is spawned in the nodes: stress-ng → the bundled ec-stress copied in,
   * the edge binary → its copy in the node (cold starts).
   */
  programs?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
}

export class ClusterDeployment implements Deployment {
  /** The deployment as faults see it: its narrow capabilities. */
  faultSurface(): FaultSurface {
    return faultSurface(this);
  }

  readonly target: string;
  readonly runId: string;
  readonly runDir: string;
  readonly nodes: readonly NodeInfo[];
  edges: readonly EdgeEndpoint[];
  readonly hubUrl: string;
  readonly clientAddresses: readonly string[];
  private readonly k8s: Map<string, string>;
  private readonly exec: DockerExecutor;
  private readonly signalled = new Map<string, number>();
  /** Scenario nodes whose cluster node is lost right now (node-loss fault or rescheduling trial). */
  private readonly lost = new Set<string>();
  private readonly exitList: ProcessExit[] = [];
  private readonly restarts = new Map<string, number>();
  private readonly acct: string;

  private constructor(
    private readonly o: ClusterDeploymentOptions,
    mapped: ReturnType<typeof mapNodes>,
    private readonly pods: ObjectStore<V1Pod>,
    private readonly acctHandles: CleanupHandle[],
  ) {
    this.target = o.target;
    this.runId = o.runId;
    this.runDir = o.runDir;
    this.exec = o.exec ?? dockerExecutor;
    this.nodes = mapped.map((m) => ({ name: m.name, role: m.role, address: m.address }));
    this.k8s = new Map(mapped.map((m) => [m.name, m.k8s]));
    const cloud = mapped.find((m) => m.role === 'cloud')!;
    this.hubUrl = `http://${cloud.address}:${o.stack.hub.port}`;
    this.edges = mapped
      .filter((m) => m.role === 'edge')
      .map((m) => ({ name: m.name, url: `http://${m.address}:${o.stack.edge.port}` }));
    this.clientAddresses = [o.clientAddress, ...(o.extraClientAddresses ?? [])];
    this.acct = `ec_${o.runId}_acct`;
  }

  /**
   * After the kube target deployed the manifests: map nodes, wait until every agent and the hub answer
   * health from the harness, install the uplink counters.
   */
  static async attach(o: ClusterDeploymentOptions): Promise<ClusterDeployment> {
    const core = o.kube.kc.makeApiClient(CoreV1Api);
    const mapped = mapNodes((await core.listNode()).items, o.edges);
    const pods = await ObjectStore.start<V1Pod>(o.kube.kc, {
      apiVersion: 'v1',
      kind: 'Pod',
      plural: 'pods',
      namespace: o.kube.namespace,
    });
    const handles: CleanupHandle[] = [];
    const exec = o.exec ?? dockerExecutor;
    const cloud = mapped.find((m) => m.role === 'cloud')!;
    try {
      for (const m of mapped) await exec(dockerExecArgv(m.k8s, ['sh', '-c', NODE_TOOLS_SCRIPT]));
      const table = `ec_${o.runId}_acct`;
      for (const m of mapped.filter((x) => x.role === 'edge')) {
        const shell = new DockerNodeShell(m.name, m.k8s, exec);
        const undo = ['nft', 'delete', 'table', 'inet', table];
        const e = shell.undoEntry(undo);
        handles.push(o.registry.add(e.kind, `uplink counters on ${m.name}`, e.data));
        await shell.exec(['nft', '-f', '-'], {
          input: accountingScript(table, cloud.address, o.stack.hub.port),
        });
      }
      // The uplink proxies (DaemonSet, ready by now): one per edge node towards the hub.
      for (const m of mapped.filter((x) => x.role === 'edge'))
        await createUplinkProxy(
          `http://${m.address}:${UPLINK_API_PORT}`,
          `${cloud.address}:${o.stack.hub.port}`,
        );
      const dep = new ClusterDeployment(o, mapped, pods, handles);
      dep.watchRestarts();
      const signal = deadline(120_000, 'stack healthy on the cluster', o.signal);
      await Promise.all([
        waitHealthy(dep.hubUrl, o.stack.hub.health, signal),
        ...dep.edges.map((e) => waitHealthy(e.url, o.stack.edge.health, signal)),
      ]);
      dep.edges = await withHubNodes(dep.edges);
      return dep;
    } catch (err) {
      pods.stop();
      await revertLastFirst(handles).catch((e: unknown) => log.warn(`after a failed deploy: ${String(e)}`));
      throw err;
    }
  }

  /**
   * After a node container restarted (Kind/k3d node loss: `docker stop` + `docker start`) its network
   * namespace is new: set up its uplink counters (they restart at zero) and its uplink proxy again,
   * then wait until its agent answers.
   */
  async reprovision(k8sNode: string, signal?: AbortSignal): Promise<void> {
    const name = [...this.k8s.entries()].find(([, v]) => v === k8sNode)?.[0];
    const node = this.nodes.find((n) => n.name === name && n.role === 'edge');
    const cloud = this.nodes.find((n) => n.role === 'cloud');
    if (!node || !cloud) return;
    await this.shell(node.name).exec(['nft', '-f', '-'], {
      input: accountingScript(this.acct, cloud.address, this.o.stack.hub.port),
    });
    const d = deadline(120_000, `uplink proxy on ${node.name} again`, signal);
    for (;;) {
      try {
        await createUplinkProxy(
          `http://${node.address}:${UPLINK_API_PORT}`,
          `${cloud.address}:${this.o.stack.hub.port}`,
        );
        break;
      } catch {
        await sleep(500, d);
      }
    }
    // The node is Ready before its kubelet has started the agent's pod again: the node is back
    // when its agent answers (its pod cgroup, which stats() reads, exists only from then on).
    await this.startStack(node.name, signal);
  }

  /**
   * The agent on this cluster node restarts with its node, and that is expected: while the node is
   * lost (`lost`) and for a minute after it is back, its restarts are not counted as crashes.
   */
  expectRestart(k8sNode: string, lost: boolean): void {
    const name = [...this.k8s.entries()].find(([, v]) => v === k8sNode)?.[0];
    if (!name) return;
    this.signalled.set(name, Date.now());
    if (lost) this.lost.add(name);
    else this.lost.delete(name);
  }

  private watchRestarts(): void {
    const agentOf = (p: V1Pod): string | undefined => {
      const k8s = p.spec?.nodeName;
      const name = [...this.k8s.entries()].find(([, v]) => v === k8s)?.[0];
      const isStack = (p.metadata?.labels?.['app.kubernetes.io/name'] ?? '').match(
        /^(edge-agent|cloud-hub)$/,
      );
      return isStack ? name : undefined;
    };
    const poll = setInterval(() => {
      for (const p of this.pods.objects.values()) {
        const node = agentOf(p);
        if (!node) continue;
        const n = (p.status?.containerStatuses ?? []).reduce((a, c) => a + c.restartCount, 0);
        const before = this.restarts.get(p.metadata!.uid!) ?? n;
        this.restarts.set(p.metadata!.uid!, n);
        for (let i = before; i < n; i++) {
          const at = Date.now();
          this.exitList.push({
            node,
            at,
            code: null,
            signal: null,
            expected: this.lost.has(node) || at - (this.signalled.get(node) ?? 0) < 60_000,
          });
        }
      }
    }, 500);
    poll.unref();
    this.stopPolling = () => clearInterval(poll);
  }

  private stopPolling: () => void = () => {};

  /** The cluster's name of a scenario node (edge-1 → kind-worker). */
  k8sNode(node: string): string {
    const k = this.k8s.get(node);
    if (!k)
      throw new TargetError(`no node ${node} in this deployment (nodes: ${[...this.k8s.keys()].join(', ')})`);
    return k;
  }

  node(name: string): NodeInfo {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new TargetError(`no node ${name} in this deployment`);
    return n;
  }

  shell(node: string): NodeShell {
    return new DockerNodeShell(node, this.k8sNode(node), this.exec, this.o.programs ?? {});
  }

  uplinkProxy(node: string): UplinkProxy | undefined {
    const n = this.node(node);
    return n.role === 'edge'
      ? { api: `http://${n.address}:${UPLINK_API_PORT}`, proxy: UPLINK_PROXY }
      : undefined;
  }

  uplinkDevice(): string {
    return 'eth0';
  }

  private binary(node: string): string {
    const cmd = node === 'cloud' ? this.o.stack.hub.command[0]! : this.o.stack.edge.command[0]!;
    return cmd.split('/').at(-1)!;
  }

  private urlOf(node: string): string {
    return node === 'cloud' ? this.hubUrl : this.edges.find((e) => e.name === node)!.url;
  }

  async startStack(node: string, signal?: AbortSignal): Promise<void> {
    // The kubelet restarts the container; "started" = healthy again.
    const health = node === 'cloud' ? this.o.stack.hub.health : this.o.stack.edge.health;
    await waitHealthy(this.urlOf(node), health, deadline(120_000, `${node} healthy`, signal));
  }

  async stopStack(node: string, opts: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
    await this.signalStack(node, opts.signal ?? 'SIGTERM');
  }

  async restartStack(node: string, signal?: AbortSignal): Promise<void> {
    await this.signalStack(node, 'SIGKILL');
    await sleep(500, signal);
    await this.startStack(node, signal);
  }

  async signalStack(node: string, sig: NodeJS.Signals): Promise<number> {
    this.signalled.set(node, Date.now());
    return this.signalAgent(node, sig);
  }

  /** Pure: the argv that signals the agent's processes in its pod's cgroup (not the workload's, not the pause). */
  signalArgv(node: string, sig: NodeJS.Signals): string[] {
    const uid = this.agentPod(node).metadata!.uid!.replace(/-/g, '_');
    return ['sh', '-c', SIGNAL_POD, uid, sig.replace(/^SIG/, ''), this.binary(node)];
  }

  private async signalAgent(node: string, sig: NodeJS.Signals): Promise<number> {
    const r = await this.shell(node).exec(this.signalArgv(node, sig), { allowFailure: true });
    return r.code === 0 ? Number(r.stdout.trim()) || 0 : 0;
  }

  stackRunning(): boolean {
    return true;
  }

  async freeze(
    node: string,
    registry: CleanupRegistry,
    opts: { method?: 'freezer' | 'sigstop' } = {},
  ): Promise<CleanupHandle> {
    const container = this.k8sNode(node);
    if (opts.method === 'sigstop') {
      const shell = this.shell(node);
      const e = shell.undoEntry(this.signalArgv(node, 'SIGCONT'));
      const h = registry.add(e.kind, `resume ${node}'s agent (SIGCONT)`, e.data);
      await shell.exec(this.signalArgv(node, 'SIGSTOP'));
      return h;
    }
    const h = registry.add('docker-unpause', `unpause node container ${container}`, { container });
    await this.exec(['docker', 'pause', container]);
    return h;
  }

  /** The agent's processes, SIGKILLed (the kubelet restarts the container; helpers live in the node). */
  async killAll(node: string): Promise<number> {
    this.signalled.set(node, Date.now());
    return this.signalAgent(node, 'SIGKILL');
  }

  private appOf(node: string): string {
    return node === 'cloud' ? 'cloud-hub' : 'edge-agent';
  }

  private agentPod(node: string): V1Pod {
    const p = currentAgentPod(this.pods.objects.values(), this.k8sNode(node), this.appOf(node));
    if (!p) throw new TargetError(`no ${this.appOf(node)} pod on ${node} (${this.k8sNode(node)})`);
    return p;
  }

  /** The agent pod's cgroup figures; undefined while its node has none (a lost node's pod being replaced). */
  async stats(node: string): Promise<NodeStats | undefined> {
    const k8s = this.k8sNode(node);
    const app = this.appOf(node);
    const uid = (p: V1Pod | undefined): string | undefined => p?.metadata?.uid?.replace(/-/g, '_');
    const cached = uid(currentAgentPod(this.pods.objects.values(), k8s, app));
    const fresh = async (): Promise<string | undefined> => {
      const core = this.o.kube.kc.makeApiClient(CoreV1Api);
      const pods = await core.listNamespacedPod({
        namespace: this.o.kube.namespace,
        fieldSelector: `spec.nodeName=${k8s}`,
        labelSelector: `app.kubernetes.io/name=${app}`,
      });
      const now = uid(currentAgentPod(pods.items, k8s, app));
      log.info(
        `${node}: no cgroup of ${app} pod ${cached ?? '-'} on ${k8s}; the API server's pod now: ${now ?? 'none'}`,
      );
      return now;
    };
    return readPodStats(cached, fresh, podCgroupReader(this.shell(node)));
  }

  async uplinkBytes(node: string): Promise<UplinkBytes> {
    const r = await this.shell(node).exec(['nft', '-j', 'list', 'table', 'inet', this.acct]);
    return parseCounters(r.stdout);
  }

  exits(): readonly ProcessExit[] {
    return this.exitList;
  }

  async teardown(): Promise<void> {
    this.stopPolling();
    this.pods.stop();
    await revertLastFirst(this.acctHandles).catch((e: unknown) => log.warn(String(e)));
    await savePodLogs(this.o.kube.kc, this.o.kube.namespace, join(this.runDir, POD_LOGS_DIR));
    await this.o.kube.teardown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }
}

/**
 * The node id each agent reports to the hub, from the agent itself (GET /v1/status): the stack's
 * manifests give every agent of the DaemonSet its Kubernetes node name (kind-worker, …), not the
 * scenario's (edge-1, …), and the hub's ledger rows carry that id.
 */
export async function withHubNodes(edges: readonly EdgeEndpoint[]): Promise<EdgeEndpoint[]> {
  return Promise.all(
    edges.map(async (e) => {
      const id = (await edgeStatus(e.url)).node;
      return id && id !== e.name ? { ...e, hubNode: id } : e;
    }),
  );
}

async function waitHealthy(url: string, health: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    const ok = await fetch(`${url}${health}`, { signal: AbortSignal.timeout(1000) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    await sleep(250, signal);
  }
}
