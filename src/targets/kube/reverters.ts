import { CoreV1Api, KubeConfig, setHeaderOptions, type V1Node, type V1Taint } from '@kubernetes/client-node';
import { registerReverterSet } from '../../core/cleanup/reverters.ts';
import { run } from '../../core/proc.ts';
import './docker-shell.ts'; // registers docker-exec (undo inside a Kind node)
import { LOAD_JOB_KIND, revertLoadJob } from './load-job-cleanup.ts';

/**
 * How `edgechaos cleanup` undoes what the kube target and the Kind driver applied, from journal
 * data alone: uncordon, remove a taint, delete a Kind cluster. Importing this module registers them.
 */

const mergePatch = setHeaderOptions('Content-Type', 'application/merge-patch+json');

export function core(kubeconfig: string): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.makeApiClient(CoreV1Api);
}

export const isGone = (err: unknown): boolean => (err as { code?: number }).code === 404;

/** Pure: the node's taints with `taint` added (once) or removed. */
export function withTaint(node: V1Node, taint: V1Taint, present: boolean): V1Taint[] {
  const rest = (node.spec?.taints ?? []).filter((t) => !(t.key === taint.key && t.effect === taint.effect));
  return present ? [...rest, taint] : rest;
}

/** Read-modify-write of the node's taints with its resourceVersion, retried on conflict. */
export async function setTaint(
  api: CoreV1Api,
  node: string,
  taint: V1Taint,
  present: boolean,
): Promise<void> {
  for (let i = 0; ; i++) {
    const n = await api.readNode({ name: node });
    try {
      await api.patchNode(
        {
          name: node,
          body: {
            metadata: { resourceVersion: n.metadata?.resourceVersion },
            spec: { taints: withTaint(n, taint, present) },
          },
        },
        mergePatch,
      );
      return;
    } catch (err) {
      if (i < 5 && (err as { code?: number }).code === 409) continue;
      throw err;
    }
  }
}

export async function setUnschedulable(api: CoreV1Api, node: string, value: boolean): Promise<void> {
  await api.patchNode({ name: node, body: { spec: { unschedulable: value } } }, mergePatch);
}

export function kindDeleteArgv(name: string): string[] {
  return ['kind', 'delete', 'cluster', '--name', name];
}

/** Register the kube kinds (kube-cordon, kube-taint, kind-cluster, kube-load-job); idempotent. `edgechaos cleanup` calls it. */
export function registerKubeReverters(): void {
  registerReverterSet('kube', {
    'kube-cordon': revertCordon,
    'kube-taint': revertTaint,
    'kind-cluster': revertKindCluster,
    [LOAD_JOB_KIND]: revertLoadJob,
  });
}

async function revertCordon(d: Record<string, unknown>): Promise<void> {
  try {
    await setUnschedulable(core(String(d['kubeconfig'])), String(d['node']), false);
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

async function revertTaint(d: Record<string, unknown>): Promise<void> {
  try {
    await setTaint(core(String(d['kubeconfig'])), String(d['node']), d['taint'] as V1Taint, false);
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}

async function revertKindCluster(d: Record<string, unknown>): Promise<void> {
  const name = d['name'];
  if (typeof name !== 'string') throw new Error('kind-cluster entry lacks "name"');
  const r = await run(kindDeleteArgv(name), { allowFailure: true }).catch(() => undefined);
  if (r && r.code !== 0 && !/not found|no such|unknown cluster/i.test(r.stderr))
    throw new Error(`kind delete cluster --name ${name}: ${r.stderr.trim()}`);
}

registerKubeReverters();
