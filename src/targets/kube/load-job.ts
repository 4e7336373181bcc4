import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import {
  BatchV1Api,
  CoreV1Api,
  Log,
  type KubeConfig,
  type V1ConfigMap,
  type V1Job,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import type { CleanupRegistry } from '../../core/cleanup/registry.ts';
import { sleep } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { bundleScript, checkConfigMapSize, SCRIPT_KEY } from '../../load/bundle.ts';
import { mergeSegmentResults, segmentDir } from '../../load/job.ts';
import {
  readLoadResult,
  type LoadResult,
  type RunLoadOptions,
  type RunningLoad,
} from '../../load/run-load.ts';
import { SegmentSink } from '../../load/stream.ts';
import { IMAGE_RUNNER, LOAD_RUNNER_IMAGE, loadRunnerImage, type LoadRunnerImage } from './load-image.ts';
import {
  COMPLETION_INDEX as INDEX,
  indexedLoadJob,
  jobFinished,
  jobStatusRecord,
  LOAD_JOB,
  LOAD_TAINT_KEY,
  MERGE_PATCH as MERGE,
  recordJobEnd,
  type JobStatusRecord,
} from './load-job-common.ts';
import {
  deleteLoadJob,
  LOAD_JOB_KIND,
  type LoadJobDeletion,
  type LoadJobJournal,
} from './load-job-cleanup.ts';

const log = logger('load-job');

/**
 * `--load-replicas N` on a real cluster (kind, kube): the load runner as an Indexed Job of N pods
 * running the load runner image (load-image.ts), as k6-operator runs a distributed test.
 *
 * - The run's script, bundled to one .mjs (src/load/bundle.ts), reaches the pods in a ConfigMap
 *   (refused over 1 MiB, before anything is created); the run's env (EDGES, RUN_ID, …) is the
 *   container's env.
 * - Pod i (JOB_COMPLETION_INDEX, set by the Job controller) runs the segment i/N:(i+1)/N
 *   (`runner.mjs --job-segment`), on the host network of a node labelled edgechaos.io/role=load and
 *   tainted edgechaos.io/load-runner (the kind target adds one such worker when asked for load
 *   replicas; on --target kube, label and taint one): not an edge (node loss, stress and partitions
 *   would hit the load generator) nor the cloud (edge-cloud partitions would cut it). Its address
 *   joins the client addresses, so a `client-edge` partition cuts the pods as it cuts the harness.
 *   The edges' URLs are the harness's own (node IP and port, on the nodes' network).
 * - Each pod's samples come back through its log, followed with client-node's `Log` as it runs,
 *   into load/segment-i/samples.jsonl (so the campaign sees the load start); the runner ends its
 *   stream with a trailer that says how many samples it wrote (src/load/stream.ts). A followed
 *   stream that lost lines (or closed early) is re-read whole once the container has terminated;
 *   still short, the run fails — never a silently smaller sample.
 * - Segments are merged exactly as on kube-local (src/load/job.ts); write ids stay unique across
 *   pods (exec.scenario.iterationInTest numbers iterations in the whole test).
 * - The Job, its pods and the ConfigMap are journaled (`kube-load-job`) before they exist and
 *   deleted at the end; load-job.json records what the API said.
 */

export { LOAD_JOB, LOAD_TAINT_KEY };
export const LOAD_CONFIGMAP = 'edgechaos-load-script';
/** The node(s) the load pods run on: label edgechaos.io/role=load, taint edgechaos.io/load-runner. */
export const LOAD_ROLE = 'load';
const CONTAINER = 'load-runner';
const LABELS = { app: LOAD_JOB, 'app.kubernetes.io/part-of': 'edgechaos' };
const SELECTOR = `app=${LOAD_JOB}`;
/** A pod not running after this long says why (image not loaded, no load node) instead of waiting on. */
const START_TIMEOUT_MS = 180_000;
/** After its container ended, how long a followed log may take to end before it is read whole. */
const LOG_TAIL_MS = 10_000;

/** Pure: the ConfigMap carrying the bundled script. */
export function loadScriptConfigMap(namespace: string, bundled: string): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: LOAD_CONFIGMAP, namespace, labels: LABELS },
    data: { [SCRIPT_KEY]: bundled },
  };
}

/** Pure: the Indexed Job of `replicas` load runner pods on the load node. */
export function clusterLoadJob(namespace: string, replicas: number, env: Record<string, string>): V1Job {
  return indexedLoadJob(namespace, replicas, LABELS, {
    hostNetwork: true,
    dnsPolicy: 'ClusterFirstWithHostNet',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 30,
    nodeSelector: { 'edgechaos.io/role': LOAD_ROLE },
    tolerations: [{ key: LOAD_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
    containers: [
      {
        name: CONTAINER,
        image: LOAD_RUNNER_IMAGE,
        // loaded into the nodes by the harness; never pulled
        imagePullPolicy: 'Never',
        args: [IMAGE_RUNNER, '--stream', '--job-segment', `/script/${SCRIPT_KEY}`, '/out'],
        env: [
          { name: 'LOAD_REPLICAS', value: String(replicas) },
          ...Object.entries(env).map(([name, value]) => ({ name, value })),
        ],
        volumeMounts: [
          { name: 'script', mountPath: '/script', readOnly: true },
          { name: 'out', mountPath: '/out' },
        ],
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        },
      },
    ],
    volumes: [
      { name: 'script', configMap: { name: LOAD_CONFIGMAP } },
      { name: 'out', emptyDir: {} },
    ],
  });
}

/** Pure: the InternalIP of every load node (they join the client addresses of partitions). */
export function loadNodeAddresses(nodes: readonly V1Node[]): string[] {
  return nodes
    .filter((n) => n.metadata?.labels?.['edgechaos.io/role'] === LOAD_ROLE)
    .flatMap((n) => n.status?.addresses?.filter((a) => a.type === 'InternalIP').map((a) => a.address) ?? []);
}

/** Pure: why a pod is not running yet, from its status (for the start timeout's message). */
export function podWaitReason(p: V1Pod): string {
  const c = p.status?.containerStatuses?.[0]?.state?.waiting;
  if (c) return `${c.reason ?? 'waiting'}${c.message ? `: ${c.message}` : ''}`;
  const unsched = p.status?.conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False');
  if (unsched) return `${unsched.reason ?? 'unschedulable'}${unsched.message ? `: ${unsched.message}` : ''}`;
  return p.status?.phase ?? 'Pending';
}

export interface ClusterLoadJobOptions extends RunLoadOptions {
  kc: KubeConfig;
  /** The kubeconfig file (and context): what `edgechaos cleanup` uses to delete the Job. */
  kubeconfig: string;
  context?: string;
  namespace: string;
  replicas: number;
  registry: CleanupRegistry;
  /** Make the image archive available on the nodes (kind load image-archive; ctr import). */
  loadImage: (archive: string) => Promise<void>;
  /** The runner image, already on the nodes (loaded at deploy time); absent: built and loaded here. */
  image?: LoadRunnerImage;
  /** The cluster goes away with the run (Kind). */
  disposableCluster: boolean;
}

export interface ClusterLoadJobRecord extends JobStatusRecord, LoadJobDeletion {
  configMap: string;
  image: string;
  imageCompressedBytes: number;
  imageBuilt: boolean;
  scriptBytes: number;
  pods: {
    name: string;
    index: number;
    node?: string;
    phases: string[];
    exitCode?: number;
    /** Sample lines read from its log (= the runner's own count when complete). */
    samples?: number;
    /** The followed log was short and the whole log was read again after the container ended. */
    reread?: boolean;
    problem?: string;
  }[];
}

type PodRecord = ClusterLoadJobRecord['pods'][number];

/** A followed log: `ended` settles when the stream ends (or fails); `abort` closes it. */
interface Follower {
  ended: Promise<void>;
  abort(): void;
}

/** Follow one pod's log into its segment's files (client-node's `Log`, follow=true). */
async function followLog(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  sink: SegmentSink,
): Promise<Follower> {
  const text = new StringDecoder('utf8');
  let settle: () => void = () => undefined;
  const ended = new Promise<void>((r) => (settle = r));
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      sink.push(text.write(chunk));
      cb();
    },
    final(cb) {
      sink.push(text.end());
      cb();
    },
  });
  for (const ev of ['finish', 'close', 'error']) w.on(ev, () => settle());
  const ctrl = await new Log(kc).log(namespace, pod, CONTAINER, w, { follow: true });
  return { ended, abort: () => ctrl.abort() };
}

/** Start the Job; its pods' logs are followed as they start. See the module comment. */
export async function startClusterLoadJob(o: ClusterLoadJobOptions): Promise<RunningLoad> {
  const core = o.kc.makeApiClient(CoreV1Api);
  const batch = o.kc.makeApiClient(BatchV1Api);
  const { namespace, replicas } = o;
  if (!Number.isInteger(replicas) || replicas < 1)
    throw new TargetError(`--load-replicas must be a positive integer, got ${replicas}`);
  const loadNodes = loadNodeAddresses((await core.listNode()).items);
  if (loadNodes.length === 0)
    throw new TargetError(
      `no node labelled edgechaos.io/role=${LOAD_ROLE} for the load pods: --target kind adds one with --load-replicas; on --target kube label one and taint it ${LOAD_TAINT_KEY}=true:NoSchedule (an edge or the cloud node would put the load generator under the faults)`,
    );
  // the script first: a bundle a ConfigMap cannot carry is refused before anything is created
  const bundled = join(o.outDir, SCRIPT_KEY);
  const scriptBytes = await bundleScript(o.script, bundled);
  checkConfigMapSize(o.script, scriptBytes);
  let image = o.image;
  if (!image) {
    image = await loadRunnerImage();
    await o.loadImage(image.archive);
  }

  const record: ClusterLoadJobRecord = {
    ...jobStatusRecord(namespace, replicas),
    configMap: LOAD_CONFIGMAP,
    image: image.tag,
    imageCompressedBytes: image.compressedBytes,
    imageBuilt: image.built,
    scriptBytes,
    pods: [],
    jobDeleted: false,
    podsDeleted: false,
    configMapDeleted: false,
  };
  const journal: LoadJobJournal = {
    kubeconfig: o.kubeconfig,
    ...(o.context ? { context: o.context } : {}),
    namespace,
    job: LOAD_JOB,
    configMap: LOAD_CONFIGMAP,
    selector: SELECTOR,
    disposableCluster: o.disposableCluster,
  };
  const handle = o.registry.add(
    LOAD_JOB_KIND,
    `load Job ${namespace}/${LOAD_JOB}, its pods and ConfigMap ${LOAD_CONFIGMAP}`,
    { ...journal },
  );
  await core.createNamespacedConfigMap({
    namespace,
    body: loadScriptConfigMap(namespace, readFileSync(bundled, 'utf8')),
  });
  await batch.createNamespacedJob({ namespace, body: clusterLoadJob(namespace, replicas, o.env) });
  log.info(`load: Job ${namespace}/${LOAD_JOB}, ${replicas} indexed pods of ${image.tag} on the load node`);

  const results: (LoadResult | undefined)[] = [];
  const followed = new Map<string, Promise<void>>();
  const terminated = new Map<string, number>();
  let stopped = false;
  /** The Job is given up on (a failure): watchers stop waiting for their containers. */
  let quit = false;

  /** One started pod: follow its log; once its container ended, check the stream, re-read if short. */
  const watchPod = async (rec: PodRecord): Promise<void> => {
    const dir = segmentDir(o.outDir, rec.index);
    let sink = new SegmentSink(dir);
    const follower = await followLog(o.kc, namespace, rec.name, sink).catch((e: unknown) => {
      log.warn(`pod ${rec.name}: following its log failed (${String(e)}); it is read once it ends`);
      return undefined;
    });
    while (!terminated.has(rec.name) && !quit) await sleep(500);
    if (follower) await Promise.race([follower.ended, sleep(LOG_TAIL_MS)]);
    follower?.abort();
    let problem = sink.end();
    if (problem) {
      log.warn(`pod ${rec.name}: ${problem}; reading its whole log`);
      rec.reread = true;
      const whole = await core.readNamespacedPodLog({ name: rec.name, namespace, container: CONTAINER });
      sink = new SegmentSink(dir);
      sink.push(whole);
      problem = sink.end();
    }
    rec.samples = sink.decoder.samples;
    const last = sink.decoder.log.slice(-5).join(' | ');
    if (problem) {
      rec.problem = problem;
      throw new TargetError(`load pod ${rec.name} (segment ${rec.index}): ${problem}; its log ends: ${last}`);
    }
    const exit = sink.decoder.trailer!.exitCode;
    if (exit !== 0 && exit !== 99) throw new TargetError(`load pod ${rec.name} exited with ${exit}: ${last}`);
    results[rec.index] = readLoadResult(dir, 0, exit, false);
  };

  /** Until the Job controller says Complete or Failed and every started pod's log is read. */
  const drive = async (): Promise<V1Job> => {
    const since = Date.now();
    const failures: unknown[] = [];
    try {
      for (;;) {
        const job = await batch.readNamespacedJob({ name: LOAD_JOB, namespace });
        const pods = (await core.listNamespacedPod({ namespace, labelSelector: SELECTOR })).items;
        for (const p of pods) {
          const name = p.metadata!.name!;
          let rec = record.pods.find((r) => r.name === name);
          if (!rec) {
            rec = { name, index: Number(p.metadata?.annotations?.[INDEX]), phases: [] };
            record.pods.push(rec);
          }
          const phase = p.status?.phase ?? 'Pending';
          if (rec.phases.at(-1) !== phase) rec.phases.push(phase);
          if (p.spec?.nodeName) rec.node = p.spec.nodeName;
          const state = p.status?.containerStatuses?.find((c) => c.name === CONTAINER)?.state;
          if (state?.terminated) rec.exitCode = state.terminated.exitCode;
          if (state?.terminated || phase === 'Succeeded' || phase === 'Failed')
            terminated.set(name, state?.terminated?.exitCode ?? -1);
          if ((state?.running || terminated.has(name)) && !followed.has(name))
            followed.set(
              name,
              watchPod(rec).catch((e: unknown) => void failures.push(e)),
            );
          if (!state?.running && !state?.terminated && Date.now() - since > START_TIMEOUT_MS && !stopped)
            throw new TargetError(
              `load pod ${name} not started after ${START_TIMEOUT_MS / 1000} s: ${podWaitReason(p)}`,
            );
        }
        // a followed pod that is gone (deleted, evicted) has ended too
        for (const name of followed.keys())
          if (!pods.some((p) => p.metadata?.name === name) && !terminated.has(name)) terminated.set(name, -1);
        if (failures.length) throw failures[0];
        if (jobFinished(job)) {
          // pods that ended before being seen running still have their logs to read
          if (pods.every((p) => followed.has(p.metadata!.name!))) {
            await Promise.all(followed.values());
            if (failures.length) throw failures[0];
            return job;
          }
        }
        if (
          stopped &&
          (job.status?.active ?? 0) === 0 &&
          pods.every((p) => terminated.has(p.metadata!.name!))
        ) {
          // suspended (stop, abort): its pods ended their tests on SIGTERM; what they streamed counts
          if (followed.size === 0) throw new TargetError('load Job stopped before its pods started');
          await Promise.all(followed.values());
          if (failures.length) throw failures[0];
          return job;
        }
        await sleep(500);
      }
    } catch (e) {
      quit = true;
      throw e;
    } finally {
      await Promise.allSettled(followed.values());
    }
  };

  /** Stop early: suspending the Job terminates its pods (SIGTERM: the runners end their tests and streams). */
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await batch
      .patchNamespacedJob({ name: LOAD_JOB, namespace, body: { spec: { suspend: true } } }, MERGE)
      .catch((e: unknown) => log.warn(`suspend load Job: ${String(e)}`));
  };
  const onAbort = (): void => void stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const done = (async (): Promise<LoadResult> => {
    try {
      recordJobEnd(record, await drive());
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      const d = await deleteLoadJob(o.kc, journal).catch((e: unknown) => {
        log.warn(`delete load Job: ${String(e)}`);
        return undefined;
      });
      if (d) Object.assign(record, d);
      if (record.jobDeleted && record.podsDeleted && record.configMapDeleted) handle.forget();
      writeFileSync(join(o.outDir, 'load-job.json'), JSON.stringify(record, null, 2));
    }
    return mergeSegmentResults(o.outDir, results, o.keepSamples);
  })();
  return { pid: 0, done, stop };
}
