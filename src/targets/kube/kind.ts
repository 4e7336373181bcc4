import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { deadline, sleep } from '../../core/deadline.ts';
import { CommandError, TargetError, ToolMissingError } from '../../core/errors.ts';
import { run, type RunResult } from '../../core/proc.ts';
import { defaultNodeLossTimings } from '../../control-plane/component-args.ts';
import { which } from '../../tools/find.ts';
import type { NodeLossDriver } from './reschedule.ts';
import { kindDeleteArgv } from './reverters.ts';

/**
 * The Kind driver: cluster lifecycle around the kube target. It needs a Docker engine, which the
 * development machines lack — so it stays thin, and unit tests assert the exact commands it runs
 * (through a fake executor); the nightly Kind workflow runs it for real.
 */

/** Runs one argument array (optionally with a file on its stdin); the fake in tests records instead. */
export type Executor = (argv: readonly string[], opts?: { inputFile?: string }) => Promise<RunResult>;

export const realExecutor: Executor = (argv, opts) => run(argv, opts);

export const KIND_HINT =
  'install kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation, e.g. `go install sigs.k8s.io/kind@v0.33.0`)';
export const DOCKER_HINT = 'install Docker and start its daemon (Kind runs each node as a container)';

export interface KindClusterSpec {
  name: string;
  /** Worker nodes labelled edgechaos.io/role=edge; the control plane is the "cloud" node. */
  edgeWorkers: number;
  /** kindest/node image, e.g. kindest/node:v1.36.1 (default: kind's own). */
  nodeImage?: string;
  /**
   * One more worker for the `--load-replicas` pods: labelled edgechaos.io/role=load, tainted
   * edgechaos.io/load-runner=true:NoSchedule (nothing else lands there), and the kubelets keep
   * 200 MiB of a container's log before rotating it (the pods' samples travel as their logs).
   */
  loadWorker?: boolean;
}

/** Pure: the kind config — one schedulable control plane labelled cloud, N workers labelled edge. */
export function kindConfig(spec: KindClusterSpec): string {
  if (!Number.isInteger(spec.edgeWorkers) || spec.edgeWorkers < 1)
    throw new RangeError(`edgeWorkers must be a positive integer, got ${spec.edgeWorkers}`);
  const lines = [
    'kind: Cluster',
    'apiVersion: kind.x-k8s.io/v1alpha4',
    `name: ${spec.name}`,
    'nodes:',
    '  - role: control-plane',
    '    labels:',
    '      edgechaos.io/role: cloud',
    '    kubeadmConfigPatches:',
    '      - |',
    '        kind: InitConfiguration',
    '        nodeRegistration:',
    '          taints: []',
  ];
  for (let i = 0; i < spec.edgeWorkers; i++) {
    lines.push('  - role: worker', '    labels:', '      edgechaos.io/role: edge');
  }
  if (spec.loadWorker)
    lines.push(
      '  - role: worker',
      '    labels:',
      '      edgechaos.io/role: load',
      '    kubeadmConfigPatches:',
      '      - |',
      '        kind: JoinConfiguration',
      '        nodeRegistration:',
      '          taints:',
      '            - key: edgechaos.io/load-runner',
      '              value: "true"',
      '              effect: NoSchedule',
    );
  // kubelet >= 1.35 refuses cgroup v1 hosts unless told otherwise (ignored on cgroup v2 hosts).
  // Node loss noticed as on kube-local (control-plane/component-args.ts): the kubelet renews its
  // lease every quarter of nodeLeaseDurationSeconds, the node-lifecycle controller marks a node
  // unreachable after node-monitor-grace-period without a renewal (Kubernetes' defaults, 40 s and
  // 50 s, leave a lost node's pods where they are for a minute).
  const t = defaultNodeLossTimings;
  lines.push(
    'kubeadmConfigPatches:',
    '  - |',
    '    kind: KubeletConfiguration',
    '    failCgroupV1: false',
    `    nodeLeaseDurationSeconds: ${t.nodeLeaseSeconds}`,
    ...(spec.loadWorker ? ['    containerLogMaxSize: 200Mi'] : []),
    'kubeadmConfigPatchesJSON6902:',
    '  - group: kubeadm.k8s.io',
    '    version: v1beta4',
    '    kind: ClusterConfiguration',
    '    patch: |',
    '      - op: add',
    '        path: /controllerManager/extraArgs/-',
    `        value: { name: node-monitor-grace-period, value: "${t.nodeMonitorGraceSeconds}s" }`,
    '      - op: add',
    '        path: /controllerManager/extraArgs/-',
    '        value: { name: node-monitor-period, value: "1s" }',
  );
  return lines.join('\n') + '\n';
}

/** Pure: the command lines, one function per operation. */
export const kindCommands = {
  create: (spec: KindClusterSpec, configFile: string, kubeconfig: string): string[] => [
    'kind',
    'create',
    'cluster',
    '--name',
    spec.name,
    '--config',
    configFile,
    '--kubeconfig',
    kubeconfig,
    '--wait',
    '180s',
    ...(spec.nodeImage ? ['--image', spec.nodeImage] : []),
  ],
  loadImage: (name: string, archive: string): string[] => [
    'kind',
    'load',
    'image-archive',
    archive,
    '--name',
    name,
  ],
  nodes: (name: string): string[] => ['kind', 'get', 'nodes', '--name', name],
  delete: kindDeleteArgv,
  /** A command inside a node container (nft, tc, ip, kill, stress-ng …): the target's NodeShell. */
  exec: (node: string, argv: readonly string[]): string[] => ['docker', 'exec', node, ...argv],
  /** Node loss: the node container stops (kubelet and all its pods go with it). */
  stopNode: (node: string): string[] => ['docker', 'stop', '--time', '0', node],
  startNode: (node: string): string[] => ['docker', 'start', node],
  dockerInfo: (): string[] => ['docker', 'info', '--format', '{{.ServerVersion}}'],
  /** Gateways of the nodes' docker network: the harness's address as the nodes see it. */
  networkGateways: (network = 'kind'): string[] => [
    'docker',
    'network',
    'inspect',
    network,
    '--format',
    '{{range .IPAM.Config}}{{.Gateway}} {{end}}',
  ],
  /**
   * Put a host file into a node container at `nodePathOf(file)`, same mode (stack binaries for cold
   * starts, the stressor), its bytes on the command's stdin. Not `docker cp`, and not the host path
   * itself: kind mounts tmpfs on the nodes' /tmp and /run — `docker cp` writes under such a mount
   * ("Could not find the file … in container"), and Docker's tmpfs is noexec (a checkout under /tmp
   * had no cold start: the binary could not run there).
   */
  copyTo: (node: string, file: string, mode: number): string[] => [
    'docker',
    'exec',
    '-i',
    node,
    'install',
    '-D',
    '-m',
    mode.toString(8),
    '/dev/stdin',
    nodePathOf(file),
  ],
  /**
   * Import a docker-archive given on stdin into a node's containerd (what `kind load image-archive`
   * runs in each node).
   */
  importImage: (node: string): string[] => [
    'docker',
    'exec',
    '-i',
    node,
    'ctr',
    '--namespace=k8s.io',
    'images',
    'import',
    '--all-platforms',
    '-',
  ],
};

/** Where a host file copied into the nodes lives there (see `copyTo`): under /opt, never a tmpfs. */
export const NODE_FILES_DIR = '/opt/edgechaos/files';
export function nodePathOf(hostFile: string): string {
  return posix.join(NODE_FILES_DIR, posix.resolve(hostFile));
}

/** Copy host files into node containers at `nodePathOf` their path, same modes (streamed: see `copyTo`). */
export async function copyIntoNodes(
  nodes: Iterable<string>,
  files: readonly string[],
  exec: Executor = realExecutor,
): Promise<void> {
  for (const node of nodes)
    for (const f of files)
      await exec(kindCommands.copyTo(node, f, statSync(f).mode & 0o7777), { inputFile: f });
}

/** Pure: the IPv4 gateway in `docker network inspect` output (kind networks are dual-stack). */
export function ipv4Gateway(out: string): string {
  const gw = out
    .trim()
    .split(/\s+/)
    .find((x) => /^\d+\.\d+\.\d+\.\d+$/.test(x));
  if (!gw) throw new TargetError(`no IPv4 gateway on the kind docker network (docker said: "${out.trim()}")`);
  return gw;
}

/** Fail early, with the install hint, when kind or docker (or Docker's daemon) is not there. */
export async function kindPreflight(
  exec: Executor = realExecutor,
  find: (tool: string) => string | undefined = which,
  opts: { needKind?: boolean } = {},
): Promise<void> {
  if (opts.needKind !== false && !find('kind')) throw new ToolMissingError('kind', KIND_HINT);
  if (!find('docker')) throw new ToolMissingError('docker', DOCKER_HINT);
  const info = await exec(kindCommands.dockerInfo()).catch((e: unknown) => e);
  if (info instanceof Error || (info as RunResult).code !== 0) {
    const why = info instanceof CommandError ? info.stderr.trim().split('\n')[0] : String(info);
    throw new TargetError(`the Docker daemon is not reachable (${why}) — ${DOCKER_HINT}`, { cause: info });
  }
}

export interface KindClusterOptions {
  spec: KindClusterSpec;
  /** Where the config and kubeconfig are written. */
  dir: string;
  registry: CleanupRegistry;
  /** OCI/docker archives to load into every node (the stack's images). */
  images?: readonly string[];
  exec?: Executor;
}

/**
 * Node loss of a node that is a container (Kind, k3d): `docker stop` it; restore starts it again and
 * waits (through `isHealthy`, e.g. a kube API read) until the node is Ready and untainted.
 */
export function containerNodeLoss(
  isHealthy: (node: string) => Promise<boolean>,
  exec: Executor = realExecutor,
): NodeLossDriver {
  return {
    mechanism: 'docker stop of the node container',
    lose: async (node) => {
      await exec(kindCommands.stopNode(node));
    },
    restore: async (node, o) => {
      await exec(kindCommands.startNode(node));
      const signal = deadline(180_000, `node ${node} healthy again`, o?.signal);
      while (!(await isHealthy(node).catch(() => false))) await sleep(500, signal);
    },
  };
}

/** A Kind cluster created by edgechaos; deleting it is journaled so `edgechaos cleanup` can. */
export class KindCluster {
  private deleted = false;

  private constructor(
    readonly spec: KindClusterSpec,
    readonly kubeconfig: string,
    readonly nodeNames: readonly string[],
    private readonly handle: CleanupHandle,
    private readonly exec: Executor,
  ) {}

  static async create(opts: KindClusterOptions): Promise<KindCluster> {
    const exec = opts.exec ?? realExecutor;
    await kindPreflight(exec, opts.exec ? () => 'fake' : which);
    mkdirSync(opts.dir, { recursive: true });
    const configFile = join(opts.dir, 'kind.yaml');
    const kubeconfig = join(opts.dir, 'kind.kubeconfig');
    writeFileSync(configFile, kindConfig(opts.spec));
    const handle = opts.registry.add('kind-cluster', `kind cluster ${opts.spec.name}`, {
      name: opts.spec.name,
    });
    try {
      await exec(kindCommands.create(opts.spec, configFile, kubeconfig));
      for (const archive of opts.images ?? []) await exec(kindCommands.loadImage(opts.spec.name, archive));
      const nodes = (await exec(kindCommands.nodes(opts.spec.name))).stdout
        .split('\n')
        .filter(Boolean)
        .sort();
      return new KindCluster(opts.spec, kubeconfig, nodes, handle, exec);
    } catch (err) {
      // kind's own account of why (kubeadm's output precedes the Go trace that ends its stderr):
      // kept in logs/, which outlives the cluster in the run dir
      if (err instanceof CommandError) {
        mkdirSync(join(opts.dir, 'logs'), { recursive: true });
        writeFileSync(join(opts.dir, 'logs', 'kind-failed.log'), `$ ${err.argv.join(' ')}\n${err.stderr}`);
      }
      await exec(kindCommands.delete(opts.spec.name))
        .then(() => handle.forget())
        .catch(() => undefined);
      throw err;
    }
  }

  /** Load one more image archive into every node. */
  async loadImage(archive: string): Promise<void> {
    await this.exec(kindCommands.loadImage(this.spec.name, archive));
  }

  /** The harness's address on the nodes' network. */
  async gateway(): Promise<string> {
    return ipv4Gateway((await this.exec(kindCommands.networkGateways())).stdout);
  }

  /** Copy host files into every node, at `nodePathOf` their paths. */
  copyToNodes(files: readonly string[]): Promise<void> {
    return copyIntoNodes(this.nodeNames, files, this.exec);
  }

  /** Run a command inside a node container (the NodeShell of the kind target). */
  nodeExec(node: string, argv: readonly string[]): Promise<RunResult> {
    if (!this.nodeNames.includes(node))
      throw new TargetError(`no node ${node} in kind cluster ${this.spec.name}`);
    return this.exec(kindCommands.exec(node, argv));
  }

  /**
   * Node loss on Kind: stop the node's container; restore starts it again and waits (through
   * `isHealthy`, e.g. a kube API read) until the node is Ready and untainted.
   */
  nodeLossDriver(isHealthy: (node: string) => Promise<boolean>): NodeLossDriver {
    return containerNodeLoss(isHealthy, this.exec);
  }

  /** `kind delete cluster`; the journal entry stays until it succeeded. Idempotent. */
  async delete(): Promise<void> {
    if (this.deleted) return;
    await this.exec(kindCommands.delete(this.spec.name));
    this.deleted = true;
    this.handle.forget();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete();
  }
}
