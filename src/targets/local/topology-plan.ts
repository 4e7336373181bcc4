import { join } from 'node:path';
import type { RoleSpec } from '../../stack/manifest.ts';
import type { DataLayer } from '../../../faults/capabilities.ts';
import type { BoardLimits, NodeRole } from '../types.ts';
import type { OciNodeState } from './oci/node.ts';
import { cgroupControllers, cgroupPath, type LocalNames } from './names.ts';
import { cpuQuota } from './profiles.ts';
import type { RunAddresses } from './subnet.ts';

/** Everything about one node that a later process needs to control it (serialisable). */
export interface LocalNodeState {
  name: string;
  role: NodeRole;
  address: string;
  netns: string;
  hostVeth: string;
  /** cgroup directories, one per controller. */
  cgroups: Record<(typeof cgroupControllers)[number], string>;
  profile?: string;
  limits?: BoardLimits;
  /** The stack command wrapped so it joins the cgroup before entering the namespace. */
  argv: string[];
  /** The stack command itself (argv unwrapped), for a start in a time namespace (clock-skew). */
  command: string[];
  env: Record<string, string>;
  logFile: string;
  dataDir: string;
  /** Edges: the fault layer mounted over dataDir at deploy (see data-dir.ts). */
  dataLayer?: DataLayer;
  healthUrl: string;
  url: string;
  /** Edges: their uplink proxy in the cloud namespace. */
  proxy?: { name: string; listen: string; upstream: string };
  /** Set when the node's stack runs as an OCI container (src/targets/local/oci). */
  oci?: OciNodeState;
}

export interface TopologyInput {
  names: LocalNames;
  addresses: RunAddresses;
  runDir: string;
  stack: { edge: RoleSpec; hub: RoleSpec };
  edges: { name: string; profile: string; limits: BoardLimits }[];
  edgeMode: 'auto' | 'online' | 'offline';
  cgroupRoot?: string;
}

export interface TopologyPlan {
  /** `ip -batch -` lines run in the root namespace: namespaces, bridge, veth pairs. */
  rootBatch: string[];
  /** Per namespace: `ip -n <ns> -batch -` lines (addresses, links up). */
  nsBatch: { netns: string; lines: string[] }[];
  /** Per edge namespace: an nft script for the uplink byte counters. */
  nftAcct: { netns: string; script: string }[];
  /** cgroup directories to create and the files to write in them, in order. */
  cgroupDirs: string[];
  cgroupWrites: { file: string; value: string }[];
  nodes: LocalNodeState[];
  toxiproxy: { host: string; port: number };
}

/**
 * Wrap a command so that it is in the node's cgroups before it enters the node's namespace
 * (`ip netns exec` remounts /sys, so the cgroup files are not reachable from inside). The user's
 * arguments travel as separate argv entries, never through the shell's parser.
 */
export function wrapInNode(cgroupDirs: readonly string[], netns: string, argv: readonly string[]): string[] {
  const script =
    'for d in $1; do echo $$ > "$d/cgroup.procs" || exit 97; done; ns=$2; shift 2; exec ip netns exec "$ns" "$@"';
  return ['sh', '-c', script, 'ec-node', cgroupDirs.join(' '), netns, ...argv];
}

/**
 * The prefix that runs a command in a new time namespace whose CLOCK_MONOTONIC and CLOCK_BOOTTIME
 * are offset by `offsetSecs` (util-linux unshare forks: the namespace applies to its children).
 */
export function timeNamespaceArgv(offsetSecs: number): string[] {
  if (!Number.isInteger(offsetSecs)) throw new Error(`time offset ${offsetSecs}s is not whole seconds`);
  const s = String(offsetSecs);
  return ['unshare', '--time', '--monotonic', s, '--boottime', s, '--'];
}

export function acctScript(table: string, cloud: string): string {
  return [
    `table inet ${table} {`,
    '  counter up { }',
    '  counter down { }',
    `  chain out { type filter hook output priority 10; policy accept; ip daddr ${cloud} counter name "up"; }`,
    `  chain in { type filter hook input priority 10; policy accept; ip saddr ${cloud} counter name "down"; }`,
    '}',
    '',
  ].join('\n');
}

/** The local topology as data (pure): what to create, in which order, and how each node is run. */
export function planTopology(inp: TopologyInput): TopologyPlan {
  const { names, addresses: a } = inp;
  const root = inp.cgroupRoot ?? '/sys/fs/cgroup';
  const plen = a.prefixLen;
  const hubPort = inp.stack.hub.port;
  const apiPort = hubPort === 8474 ? 8475 : 8474;
  const proxyPortBase = 20000;
  const rootBatch = [
    `link add ${names.bridge} type bridge`,
    `addr add ${a.client}/${plen} dev ${names.bridge}`,
    `link set ${names.bridge} up`,
  ];
  const nsBatch: TopologyPlan['nsBatch'] = [];
  const nftAcct: TopologyPlan['nftAcct'] = [];
  const cgroupDirs: string[] = [];
  const cgroupWrites: TopologyPlan['cgroupWrites'] = [];
  const nodes: LocalNodeState[] = [];

  const addNode = (
    name: string,
    role: NodeRole,
    address: string,
  ): Omit<LocalNodeState, 'argv' | 'command' | 'env' | 'healthUrl' | 'url'> => {
    const netns = names.netns(name);
    const veth = names.hostVeth(name);
    rootBatch.splice(0, 0, `netns add ${netns}`);
    rootBatch.push(
      `link add ${veth} type veth peer name eth0 netns ${netns}`,
      `link set ${veth} master ${names.bridge} up`,
    );
    nsBatch.push({
      netns,
      lines: [`addr add ${address}/${plen} dev eth0`, 'link set eth0 up', 'link set lo up'],
    });
    const cg = Object.fromEntries(
      cgroupControllers.map((c) => [c, cgroupPath(c, names.cgroup(name), root)]),
    ) as LocalNodeState['cgroups'];
    cgroupDirs.push(...Object.values(cg));
    return {
      name,
      role,
      address,
      netns,
      hostVeth: veth,
      cgroups: cg,
      logFile: join(inp.runDir, 'logs', `${name}.log`),
      dataDir: join(inp.runDir, 'data', name),
    };
  };

  const cloud = addNode('cloud', 'cloud', a.cloud);
  const hubEnv = { ...inp.stack.hub.env, HUB_LISTEN: `${a.cloud}:${hubPort}`, HUB_DATA_DIR: cloud.dataDir };
  nodes.push({
    ...cloud,
    argv: wrapInNode(Object.values(cloud.cgroups), cloud.netns, inp.stack.hub.command),
    command: inp.stack.hub.command,
    env: hubEnv,
    healthUrl: `http://${a.cloud}:${hubPort}${inp.stack.hub.health}`,
    url: `http://${a.cloud}:${hubPort}`,
  });

  inp.edges.forEach((e, i) => {
    const address = a.edge(i + 1);
    const n = addNode(e.name, 'edge', address);
    let proxyPort = proxyPortBase + i + 1;
    if (proxyPort === hubPort || proxyPort === apiPort) proxyPort += 10_000;
    const proxy = {
      name: names.proxy(e.name),
      listen: `${a.cloud}:${proxyPort}`,
      upstream: `${a.cloud}:${hubPort}`,
    };
    const port = inp.stack.edge.port;
    const { quotaUs, periodUs } = cpuQuota(e.limits.cpus);
    cgroupWrites.push(
      { file: `${n.cgroups.cpu}/cpu.cfs_period_us`, value: String(periodUs) },
      { file: `${n.cgroups.cpu}/cpu.cfs_quota_us`, value: String(quotaUs) },
      { file: `${n.cgroups.memory}/memory.limit_in_bytes`, value: String(e.limits.memoryBytes) },
    );
    nftAcct.push({ netns: n.netns, script: acctScript(names.acctTable, a.cloud) });
    nodes.push({
      ...n,
      profile: e.profile,
      limits: e.limits,
      argv: wrapInNode(Object.values(n.cgroups), n.netns, inp.stack.edge.command),
      command: inp.stack.edge.command,
      env: {
        ...inp.stack.edge.env,
        EDGE_NODE_ID: e.name,
        EDGE_LISTEN: `${address}:${port}`,
        CLOUD_URL: `http://${proxy.listen}`,
        EDGE_MODE: inp.edgeMode,
        EDGE_DATA_DIR: n.dataDir,
      },
      healthUrl: `http://${address}:${port}${inp.stack.edge.health}`,
      url: `http://${address}:${port}`,
      proxy,
    });
  });
  return {
    rootBatch,
    nsBatch,
    nftAcct,
    cgroupDirs,
    cgroupWrites,
    nodes,
    toxiproxy: { host: a.cloud, port: apiPort },
  };
}
