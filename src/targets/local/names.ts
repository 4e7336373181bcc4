import { createHash } from 'node:crypto';

/**
 * Every name a local deployment creates, derived from its run id, so two runs never collide and
 * `edgechaos cleanup` (and scripts/check-leftovers) can find what a run left: network namespaces and
 * cgroups start with `ec-<runId>-`, interface names (15 chars max) with `ec<tag>` where tag is a hash.
 */
export interface LocalNames {
  runId: string;
  /** 6 hex chars from the run id, for the short interface names. */
  tag: string;
  bridge: string;
  netns(node: string): string;
  /** Host-side end of the node's veth (the node side is always `eth0` inside its namespace). */
  hostVeth(node: string): string;
  /** cgroup directory name (same under every v1 controller). */
  cgroup(node: string): string;
  /** nft table (inet family) that counts a node's uplink bytes. */
  acctTable: string;
  /** Token prefix every stack process of the run carries (EDGECHAOS_TOKEN). */
  stackToken: string;
  proxy(node: string): string;
}

export function localNames(runId: string): LocalNames {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$/.test(runId))
    throw new Error(`run id "${runId}" must be 1-41 characters of [A-Za-z0-9._-]`);
  const tag = createHash('sha256').update(runId).digest('hex').slice(0, 6);
  const short = (node: string): string => {
    if (node === 'cloud') return 'c';
    const m = /^edge-(\d+)$/.exec(node);
    // Non-numeric edge names get a hash so the name still fits in 15 characters.
    return m ? m[1]! : 'h' + createHash('sha256').update(node).digest('hex').slice(0, 4);
  };
  return {
    runId,
    tag,
    bridge: `ec${tag}b`,
    netns: (node) => `ec-${runId}-${node}`,
    hostVeth: (node) => `ec${tag}${short(node)}`,
    cgroup: (node) => `ec-${runId}-${node}`,
    acctTable: 'ec_acct',
    stackToken: `${runId}.stack`,
    proxy: (node) => `uplink-${node}`,
  };
}

/** The cgroup v1 controllers a node's group lives in. */
export const cgroupControllers = ['cpu', 'cpuacct', 'memory', 'freezer'] as const;
export type CgroupController = (typeof cgroupControllers)[number];

export function cgroupPath(ctrl: CgroupController, name: string, root = '/sys/fs/cgroup'): string {
  return `${root}/${ctrl}/${name}`;
}
