import type { FaultSurface, KubeControl } from '../../faults/capabilities.ts';
import type { Deployment } from './types.ts';

/**
 * A deployment as faults see it: its topology and the narrow capabilities, bound to it. Targets that
 * reach a Kubernetes API add `kube`.
 */
export function faultSurface(dep: Deployment, kube?: KubeControl): FaultSurface {
  return {
    target: dep.target,
    nodes: dep.nodes,
    clientAddresses: dep.clientAddresses,
    shell: (node) => dep.shell(node),
    stack: {
      startStack: (node, signal) => dep.startStack(node, signal),
      signalStack: (node, sig) => dep.signalStack(node, sig),
      freeze: (node, registry, opts) => dep.freeze(node, registry, opts),
      killAll: (node) => dep.killAll(node),
    },
    uplink: {
      uplinkProxy: (node) => dep.uplinkProxy(node),
      uplinkDevice: (node) => dep.uplinkDevice(node),
    },
    ...(kube ? { kube } : {}),
  };
}
