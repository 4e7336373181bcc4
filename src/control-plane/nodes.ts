import type { V1Node } from '@kubernetes/client-node';
import { KWOK_MANAGED, KWOK_MANAGED_LABEL } from './component-args.ts';
import { boardProfiles, type BoardProfileName } from './profiles.ts';

export type NodeRole = 'edge' | 'cloud';

/** One fake node of the embedded cluster (kwok plays its kubelet). */
export interface FakeNodeSpec {
  name: string;
  role: NodeRole;
  profile: BoardProfileName;
}

export const ROLE_LABEL = 'edgechaos.io/role';
export const PROFILE_LABEL = 'edgechaos.io/profile';

/** `n` nodes: one cloud VM (`cloud-0`) and n-1 Raspberry Pi 4 edges (`edge-1`…). */
export function defaultNodes(n: number): FakeNodeSpec[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`node count must be a positive integer, got ${n}`);
  const out: FakeNodeSpec[] = [{ name: 'cloud-0', role: 'cloud', profile: 'cloud-vm' }];
  for (let i = 1; i < n; i++) out.push({ name: `edge-${i}`, role: 'edge', profile: 'rpi4' });
  return out;
}

/** The Node object for a fake node: role/profile labels, the profile's capacity, kwok-managed. */
export function fakeNode(spec: FakeNodeSpec): V1Node {
  const p = boardProfiles[spec.profile];
  const resources = { cpu: p.cpu, memory: p.memory, pods: p.pods };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        [ROLE_LABEL]: spec.role,
        [PROFILE_LABEL]: spec.profile,
        [KWOK_MANAGED_LABEL]: KWOK_MANAGED,
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': p.arch,
        type: 'kwok',
      },
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {},
    status: { capacity: resources, allocatable: resources },
  };
}

export function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Ready and carrying none of the node-lifecycle taints (not-ready / unreachable). */
export function isNodeHealthy(node: V1Node): boolean {
  const lifecycleTaint = (node.spec?.taints ?? []).some((t) =>
    ['node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready'].includes(t.key),
  );
  return isNodeReady(node) && !lifecycleTaint;
}
