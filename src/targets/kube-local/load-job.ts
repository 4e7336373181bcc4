import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Job,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { mergeSegmentResults, segmentDir, segmentOf } from '../../load/job.ts';
import { startLoad, type LoadResult, type RunLoadOptions, type RunningLoad } from '../../load/run-load.ts';
import {
  COMPLETION_INDEX as INDEX,
  indexedLoadJob,
  jobFinished,
  jobStatusRecord,
  LOAD_JOB,
  LOAD_TAINT_KEY as TAINT,
  MERGE_PATCH as MERGE,
  recordJobEnd,
  type JobStatusRecord,
} from '../kube/load-job-common.ts';

const log = logger('load-job');

/**
 * `--load-replicas N` on kube-local: the load runner as a Kubernetes Job of N pods (k6-operator's
 * parallel runs with execution segments), through the embedded cluster's Job API, with the pods as
 * processes on this host.
 *
 * - A Node `edgechaos-load-runner` stands for this host. It is NOT kwok-managed (kwok would run the
 *   pods' fake lifecycle and mark them Succeeded at once): this module plays its kubelet — the node's
 *   Ready heartbeat, and each pod's status from its process. It is tainted, so the stack's pods are
 *   never scheduled there; the load pods tolerate it.
 * - The Job is `Indexed` with completions = parallelism = N and backoffLimit 0: pod i (annotation
 *   batch.kubernetes.io/job-completion-index, the container's JOB_COMPLETION_INDEX) runs the
 *   segment i/N:(i+1)/N. Once the scheduler binds a pod to the node, one load runner process starts
 *   with that segment; the pod goes Running, then Succeeded (exit 0) or Failed (exit code ≠ 0) when it
 *   exits. The Job controller, not this module, decides that the Job is Complete.
 * - The segments' samples are merged, in time order on one clock (each runner's `start` epoch), into
 *   the one samples.jsonl the campaign's checks read; write ids stay unique because every runner
 *   numbers iterations in the whole test (exec.scenario.iterationInTest).
 * - At the end the Job (and its pods) and the node are deleted; load-job.json records what the API
 *   said (the Job's completions and conditions, each pod's phases and exit code, the deletions).
 */

export const LOAD_NODE = 'edgechaos-load-runner';
export { LOAD_JOB };

export interface LoadJobOptions extends RunLoadOptions {
  kc: KubeConfig;
  namespace: string;
  replicas: number;
}

export interface LoadJobRecord extends JobStatusRecord {
  node: string;
  pods: { name: string; index: number; phases: string[]; pid?: number; exitCode?: number }[];
  jobDeleted: boolean;
  nodeDeleted: boolean;
}

const nowIso = (): string => new Date().toISOString();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const is404 = (e: unknown): boolean => (e as { code?: number }).code === 404;

function loadNode(): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: LOAD_NODE,
      labels: { 'kubernetes.io/hostname': LOAD_NODE, 'kubernetes.io/os': 'linux', [TAINT]: 'true' },
    },
    spec: { taints: [{ key: TAINT, value: 'true', effect: 'NoSchedule' }] },
  };
}

function nodeStatus(since: string): object {
  const res = { cpu: '2', memory: '4Gi', pods: '110' };
  return {
    status: {
      capacity: res,
      allocatable: res,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'LoadRunnerHost',
          message: 'the harness host runs the load pods as processes',
          lastHeartbeatTime: nowIso(),
          lastTransitionTime: since,
        },
      ],
    },
  };
}

export function loadJob(namespace: string, replicas: number, script: string): V1Job {
  return indexedLoadJob(
    namespace,
    replicas,
    { app: LOAD_JOB },
    {
      nodeSelector: { 'kubernetes.io/hostname': LOAD_NODE },
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'load-runner',
          // Never pulled on kube-local (the pod is a process on the host); on a cluster the runner
          // image runs (src/targets/kube/load-job.ts).
          image: 'edgechaos/load-runner:local',
          args: [script],
          env: [{ name: 'LOAD_REPLICAS', value: String(replicas) }],
        },
      ],
    },
  );
}

/** The load node (its heartbeat kept up as a kubelet would) and the Indexed Job whose pods land on it. */
async function createJobAndNode(
  o: LoadJobOptions,
  core: CoreV1Api,
  batch: BatchV1Api,
): Promise<{ record: LoadJobRecord; beat: NodeJS.Timeout }> {
  const { namespace, replicas } = o;
  const record: LoadJobRecord = {
    ...jobStatusRecord(namespace, replicas),
    node: LOAD_NODE,
    pods: [],
    jobDeleted: false,
    nodeDeleted: false,
  };
  const since = nowIso();
  await core.createNode({ body: loadNode() });
  const heartbeat = async (): Promise<void> => {
    await core.patchNodeStatus({ name: LOAD_NODE, body: nodeStatus(since) }, MERGE);
  };
  await heartbeat();
  const beat = setInterval(() => void heartbeat().catch((e: unknown) => log.debug(String(e))), 3000);
  beat.unref();
  await batch.createNamespacedJob({ namespace, body: loadJob(namespace, replicas, o.script) });
  log.info(
    `load: Job ${namespace}/${LOAD_JOB}, ${replicas} indexed pods on ${LOAD_NODE} (pods as processes)`,
  );

  return { record, beat };
}

/** The pod status a kubelet reports once the pod's process runs. */
function runningStatus(image: string, startedAt: string): object {
  return {
    phase: 'Running',
    startTime: startedAt,
    hostIP: '127.0.0.1',
    conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
      type,
      status: 'True',
      lastTransitionTime: startedAt,
    })),
    containerStatuses: [
      {
        name: 'load-runner',
        image,
        imageID: '',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt } },
      },
    ],
  };
}

/** The pod status a kubelet reports once the pod's process ended with `exitCode`. */
function endedStatus(image: string, startedAt: string, exitCode: number): object {
  return {
    phase: exitCode === 0 ? 'Succeeded' : 'Failed',
    conditions: ['Ready', 'ContainersReady'].map((type) => ({
      type,
      status: 'False',
      reason: 'PodCompleted',
      lastTransitionTime: nowIso(),
    })),
    containerStatuses: [
      {
        name: 'load-runner',
        image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            startedAt,
            finishedAt: nowIso(),
          },
        },
      },
    ],
  };
}

/** Delete the Job (and its pods) and the load node; record each deletion once the API says 404. */
async function deleteJobAndNode(
  core: CoreV1Api,
  batch: BatchV1Api,
  namespace: string,
  record: LoadJobRecord,
): Promise<void> {
  await batch
    .deleteNamespacedJob({
      name: LOAD_JOB,
      namespace,
      propagationPolicy: 'Foreground',
      gracePeriodSeconds: 0,
    })
    .catch((e: unknown) => (is404(e) ? undefined : log.warn(`delete Job: ${String(e)}`)));
  await core
    .deleteCollectionNamespacedPod({ namespace, labelSelector: `app=${LOAD_JOB}`, gracePeriodSeconds: 0 })
    .catch((e: unknown) => log.warn(`delete load pods: ${String(e)}`));
  await core
    .deleteNode({ name: LOAD_NODE })
    .catch((e: unknown) => (is404(e) ? undefined : log.warn(`delete node: ${String(e)}`)));
  for (let i = 0; i < 100 && !(record.jobDeleted && record.nodeDeleted); i++) {
    record.jobDeleted ||= await batch.readNamespacedJob({ name: LOAD_JOB, namespace }).then(
      () => false,
      (e: unknown) => is404(e),
    );
    record.nodeDeleted ||= await core.readNode({ name: LOAD_NODE }).then(
      () => false,
      (e: unknown) => is404(e),
    );
    if (!(record.jobDeleted && record.nodeDeleted)) await sleep(100);
  }
}

/** Start the Job; its pods' processes start as the scheduler binds them. See the module comment. */
export async function startLoadJob(o: LoadJobOptions): Promise<RunningLoad> {
  const core = o.kc.makeApiClient(CoreV1Api);
  const batch = o.kc.makeApiClient(BatchV1Api);
  const { namespace, replicas } = o;
  const { record, beat } = await createJobAndNode(o, core, batch);

  const running = new Map<string, { index: number; load: RunningLoad; rec: LoadJobRecord['pods'][0] }>();
  const results: LoadResult[] = [];
  const failures: unknown[] = [];
  let stopped = false;

  const setPod = async (pod: string, status: object): Promise<void> => {
    await core.patchNamespacedPodStatus({ name: pod, namespace, body: { status } }, MERGE);
  };

  /** One bound pod: its process, and its status as a kubelet would report it. */
  const startPod = async (pod: V1Pod): Promise<void> => {
    const name = pod.metadata!.name!;
    const index = Number(pod.metadata?.annotations?.[INDEX]);
    const rec: LoadJobRecord['pods'][0] = { name, index, phases: [pod.status?.phase ?? 'Pending'] };
    record.pods.push(rec);
    const load = await startLoad({
      ...o,
      outDir: segmentDir(o.outDir, index),
      executionSegment: segmentOf(index, replicas),
      keepSamples: false,
    });
    rec.pid = load.pid;
    running.set(name, { index, load, rec });
    const startedAt = nowIso();
    const image = pod.spec!.containers[0]!.image!;
    await setPod(name, runningStatus(image, startedAt));
    rec.phases.push('Running');
    const res = await load.done.catch((e: unknown) => {
      failures.push(e);
      return undefined;
    });
    if (res) results[index] = res;
    const exitCode = res?.exitCode ?? 1;
    rec.exitCode = exitCode;
    const phase = exitCode === 0 ? 'Succeeded' : 'Failed';
    await setPod(name, endedStatus(image, startedAt, exitCode));
    rec.phases.push(phase);
  };

  /** Until the Job controller says Complete or Failed: start a process for every newly bound pod. */
  const drive = async (): Promise<V1Job> => {
    const pods: Promise<void>[] = [];
    try {
      for (;;) {
        const job = await batch.readNamespacedJob({ name: LOAD_JOB, namespace });
        if (jobFinished(job)) return job;
        if (o.signal?.aborted || stopped) {
          if (running.size === 0) throw new TargetError('load Job stopped before its pods were scheduled');
        } else {
          const list = await core.listNamespacedPod({ namespace, labelSelector: `app=${LOAD_JOB}` });
          for (const p of list.items) {
            const n = p.metadata?.name;
            if (!n || !p.spec?.nodeName || running.has(n) || record.pods.some((r) => r.name === n)) continue;
            pods.push(startPod(p).catch((e: unknown) => void failures.push(e)));
          }
        }
        if (failures.length) throw failures[0];
        // once every process ended and reported, the Job controller has what it needs
        await sleep(200);
      }
    } finally {
      await Promise.allSettled(pods);
    }
  };

  const teardown = async (): Promise<void> => {
    clearInterval(beat);
    await Promise.allSettled([...running.values()].map((r) => r.load.stop()));
    await deleteJobAndNode(core, batch, namespace, record);
    writeFileSync(join(o.outDir, 'load-job.json'), JSON.stringify(record, null, 2));
  };

  const done = (async (): Promise<LoadResult> => {
    try {
      recordJobEnd(record, await drive());
    } finally {
      await teardown();
    }
    return mergeSegmentResults(o.outDir, results, o.keepSamples);
  })();
  return {
    pid: 0,
    done,
    stop: async () => {
      stopped = true;
      await Promise.allSettled([...running.values()].map((r) => r.load.stop()));
    },
  };
}
