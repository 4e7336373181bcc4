import { BatchV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { deadline, sleep } from '../../core/deadline.ts';
import { loadKubeConfig } from './target.ts';

/**
 * Deleting a cluster load Job (`--load-replicas` on kind/kube): the Job, its pods, the script's
 * ConfigMap — at the end of the run, and by `edgechaos cleanup` from the journal entry
 * `kube-load-job` after a kill -9 (registered with the kube reverters). Client-node only, so that
 * cleanup does not load the bundler.
 */

export const LOAD_JOB_KIND = 'kube-load-job';

/** What the journal keeps for one load Job: enough to delete it from another process. */
export interface LoadJobJournal {
  kubeconfig: string;
  context?: string;
  namespace: string;
  job: string;
  configMap: string;
  /** The pods' label selector. */
  selector: string;
  /** The cluster goes away with the run (Kind): an unreachable API means nothing is left in it. */
  disposableCluster: boolean;
}

export interface LoadJobDeletion {
  jobDeleted: boolean;
  podsDeleted: boolean;
  configMapDeleted: boolean;
}

const is404 = (e: unknown): boolean => (e as { code?: number }).code === 404;
const gone = <T>(p: Promise<T>): Promise<boolean> =>
  p.then(
    () => false,
    (e: unknown) => {
      if (is404(e)) return true;
      throw e;
    },
  );

/** Delete the Job, its pods and the ConfigMap; wait (up to `waitMs`) until the API says they are gone. */
export async function deleteLoadJob(
  kc: KubeConfig,
  j: Pick<LoadJobJournal, 'namespace' | 'job' | 'configMap' | 'selector'>,
  waitMs = 60_000,
): Promise<LoadJobDeletion> {
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const { namespace } = j;
  const ignore404 = (e: unknown): void => {
    if (!is404(e)) throw e;
  };
  await batch
    .deleteNamespacedJob({ name: j.job, namespace, propagationPolicy: 'Background', gracePeriodSeconds: 0 })
    .catch(ignore404);
  await core
    .deleteCollectionNamespacedPod({ namespace, labelSelector: j.selector, gracePeriodSeconds: 0 })
    .catch(ignore404);
  await core.deleteNamespacedConfigMap({ name: j.configMap, namespace }).catch(ignore404);
  const d: LoadJobDeletion = { jobDeleted: false, podsDeleted: false, configMapDeleted: false };
  const until = deadline(waitMs, `load Job ${namespace}/${j.job} deleted`);
  for (;;) {
    d.jobDeleted ||= await gone(batch.readNamespacedJob({ name: j.job, namespace }));
    d.configMapDeleted ||= await gone(core.readNamespacedConfigMap({ name: j.configMap, namespace }));
    d.podsDeleted ||=
      (
        await core.listNamespacedPod({ namespace, labelSelector: j.selector }).catch((e: unknown) => {
          if (is404(e)) return { items: [] };
          throw e;
        })
      ).items.length === 0;
    if (d.jobDeleted && d.podsDeleted && d.configMapDeleted) return d;
    try {
      await sleep(250, until);
    } catch {
      return d;
    }
  }
}

const unreachable = (e: unknown): boolean =>
  /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|connect ETIMEDOUT/.test(
    `${String(e)} ${String((e as { cause?: unknown }).cause)}`,
  );

/** The `kube-load-job` reverter: delete what the entry names; an entry that is not all gone throws. */
export async function revertLoadJob(data: Record<string, unknown>): Promise<void> {
  const j = data as unknown as LoadJobJournal;
  let d: LoadJobDeletion;
  try {
    const kc = loadKubeConfig({ kubeconfig: j.kubeconfig, ...(j.context ? { context: j.context } : {}) });
    d = await deleteLoadJob(kc, j);
  } catch (e) {
    // a Kind cluster deleted already took the Job with it
    if (j.disposableCluster && unreachable(e)) return;
    throw e;
  }
  if (!(d.jobDeleted && d.podsDeleted && d.configMapDeleted))
    throw new Error(`load Job ${j.namespace}/${j.job} not deleted yet: ${JSON.stringify(d)}`);
}
