import { setHeaderOptions, type V1Job, type V1PodSpec } from '@kubernetes/client-node';

/**
 * What the `--load-replicas` Jobs of kube-local (pods as processes, src/targets/kube-local/load-job.ts)
 * and of clusters (the runner image, ./load-job.ts) share: the Indexed Job itself and how its end
 * is read and recorded.
 */

export const LOAD_JOB = 'edgechaos-load';
/** The taint of the node the load pods run on (they tolerate it, nothing else does). */
export const LOAD_TAINT_KEY = 'edgechaos.io/load-runner';
/** The annotation carrying a pod's completion index (also its JOB_COMPLETION_INDEX). */
export const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
export const MERGE_PATCH = setHeaderOptions('Content-Type', 'application/merge-patch+json');

/** Pure: the Indexed Job of `replicas` pods (completions = parallelism = N, backoffLimit 0). */
export function indexedLoadJob(
  namespace: string,
  replicas: number,
  labels: Record<string, string>,
  pod: V1PodSpec,
): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: LOAD_JOB, namespace, labels },
    spec: {
      completions: replicas,
      parallelism: replicas,
      completionMode: 'Indexed',
      backoffLimit: 0,
      template: { metadata: { labels }, spec: { restartPolicy: 'Never', ...pod } },
    },
  };
}

/** What load-job.json says of the Job itself. */
export interface JobStatusRecord {
  job: string;
  namespace: string;
  completions: number;
  parallelism: number;
  completionMode: string;
  succeeded: number;
  failed: number;
  /** The Job's conditions that are True at the end (Complete, Failed, SuccessCriteriaMet, …). */
  conditions: string[];
}

export function jobStatusRecord(namespace: string, replicas: number): JobStatusRecord {
  return {
    job: LOAD_JOB,
    namespace,
    completions: replicas,
    parallelism: replicas,
    completionMode: 'Indexed',
    succeeded: 0,
    failed: 0,
    conditions: [],
  };
}

/** The Job controller has decided: Complete or Failed. */
export const jobFinished = (job: V1Job): boolean =>
  (job.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );

/** Record the Job's end as the API reports it. */
export function recordJobEnd(record: JobStatusRecord, job: V1Job): void {
  record.succeeded = job.status?.succeeded ?? 0;
  record.failed = job.status?.failed ?? 0;
  record.conditions = (job.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
}
