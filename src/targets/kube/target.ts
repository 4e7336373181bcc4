import { existsSync } from 'node:fs';
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  type KubernetesObject,
  type V1DaemonSet,
  type V1Deployment,
  type V1Pod,
} from '@kubernetes/client-node';
import { deadline, sleep } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { explainKubeError } from './errors.ts';
import {
  loadManifests,
  manifestNamespace,
  prepareManifests,
  defaultManifestDir,
  type ManifestOptions,
} from './manifests.ts';
import { nowMs, ObjectStore } from './object-store.ts';
import { podLatency, podTimelines, type PodLatency } from './pod-latency.ts';

const log = logger('kube-target');

export const FIELD_MANAGER = 'edgechaos';

export interface KubeTargetOptions extends ManifestOptions {
  /** A kubeconfig file, or a loaded KubeConfig. */
  kubeconfig: string | KubeConfig;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
  /** Directory of manifests (default stack/deploy). */
  manifests?: string;
  /** Objects the harness adds to the stack's (e.g. the uplink proxies on a cluster), same namespace. */
  extraObjects?: readonly KubernetesObject[];
}

export interface DeployResult {
  namespace: string;
  objects: string[];
  /** From the first apply to every workload ready, ms. */
  readyMs: number;
  podLatency: PodLatency;
}

/** One permission the harness needs, checked with a SelfSubjectAccessReview before anything is changed. */
interface Permission {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

function describePermission(p: Permission): string {
  const res = p.group ? `${p.resource}.${p.group}` : p.resource;
  return `${p.verb} ${res}${p.namespace ? ` in namespace ${p.namespace}` : ' (cluster-wide)'}`;
}

/** Load (and check) a kubeconfig and its context: one clear TargetError naming the file. */
export function loadKubeConfig(opts: Pick<KubeTargetOptions, 'kubeconfig' | 'context'>): KubeConfig {
  if (typeof opts.kubeconfig !== 'string') return opts.kubeconfig;
  const file = opts.kubeconfig;
  if (!existsSync(file)) throw new TargetError('kubeconfig not found', { file });
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new TargetError(`kubeconfig cannot be parsed: ${(err as Error).message}`, { file, cause: err });
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context))
      throw new TargetError(`kubeconfig has no context "${opts.context}"`, { file });
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()?.server)
    throw new TargetError('kubeconfig has no current context with a cluster server', {
      file,
      field: 'current-context',
    });
  if (!kc.getCurrentUser()) throw new TargetError('kubeconfig has no user for the current context', { file });
  return kc;
}

/**
 * Any Kubernetes cluster as a target: deploys the stack's manifests with server-side apply, waits
 * with watches, measures pod latency from watch arrival times, tears the namespace down.
 */
export class KubeTarget {
  readonly server: string;
  readonly namespace: string;
  private readonly objects: KubernetesObject[];

  private constructor(
    readonly kc: KubeConfig,
    private readonly opts: KubeTargetOptions,
  ) {
    this.server = kc.getCurrentCluster()!.server;
    this.objects = prepareManifests(
      [...loadManifests(opts.manifests ?? defaultManifestDir), ...(opts.extraObjects ?? [])],
      opts,
    );
    this.namespace = manifestNamespace(this.objects);
  }

  /** Load the kubeconfig, reach the cluster, and check the RBAC permissions deploy/teardown need. */
  static async connect(opts: KubeTargetOptions, signal?: AbortSignal): Promise<KubeTarget> {
    const t = new KubeTarget(loadKubeConfig(opts), opts);
    await t.call('reach the cluster (GET /version)', () => t.kc.makeApiClient(VersionApi).getCode(), signal);
    await t.checkPermissions(signal);
    return t;
  }

  /** Run one API call with a bounded time, turning failures into one clear TargetError. */
  /** Watch the objects of one kind in the deployment's namespace. */
  private watch<T extends KubernetesObject>(
    apiVersion: string,
    kind: string,
    plural: string,
    signal?: AbortSignal,
  ): Promise<ObjectStore<T>> {
    return this.call(
      `watch ${plural}`,
      () => ObjectStore.start<T>(this.kc, { apiVersion, kind, plural, namespace: this.namespace }),
      signal,
    );
  }

  private async call<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal, ms = 15_000): Promise<T> {
    const d = deadline(ms, what, signal);
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) =>
          d.addEventListener('abort', () => reject(d.reason as Error), { once: true }),
        ),
      ]);
    } catch (err) {
      throw explainKubeError(err, what, this.server);
    }
  }

  private requiredPermissions(): Permission[] {
    const ns = this.namespace;
    const perms: Permission[] = [
      { verb: 'create', group: '', resource: 'namespaces' },
      { verb: 'delete', group: '', resource: 'namespaces' },
      { verb: 'watch', group: '', resource: 'pods', namespace: ns },
      { verb: 'list', group: '', resource: 'nodes' },
    ];
    const seen = new Set<string>();
    for (const o of this.objects) {
      if (o.kind === 'Namespace') continue;
      const group = o.apiVersion!.includes('/') ? o.apiVersion!.split('/')[0]! : '';
      const resource = `${o.kind!.toLowerCase()}${o.kind!.endsWith('s') ? 'es' : 's'}`;
      const key = `${group}/${resource}`;
      if (seen.has(key)) continue;
      seen.add(key);
      perms.push(
        { verb: 'patch', group, resource, namespace: ns },
        { verb: 'watch', group, resource, namespace: ns },
      );
    }
    return perms;
  }

  /** Fail before changing anything when the kubeconfig's user lacks a permission; names every missing one. */
  async checkPermissions(signal?: AbortSignal): Promise<void> {
    const authz = this.kc.makeApiClient(AuthorizationV1Api);
    const perms = this.requiredPermissions();
    const results = await Promise.all(
      perms.map((p) =>
        this.call(
          `check permission to ${describePermission(p)}`,
          () =>
            authz.createSelfSubjectAccessReview({
              body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SelfSubjectAccessReview',
                spec: {
                  resourceAttributes: {
                    verb: p.verb,
                    group: p.group,
                    resource: p.resource,
                    namespace: p.namespace,
                  },
                },
              },
            }),
          signal,
        ),
      ),
    );
    const missing = perms.filter((_, i) => !results[i]!.status?.allowed);
    if (missing.length) {
      const user = this.kc.getCurrentUser()?.name ?? '?';
      throw new TargetError(
        `missing RBAC permissions for kubeconfig user "${user}" on ${this.server}: cannot ${missing.map(describePermission).join('; ')} — bind a role granting them (or use an admin kubeconfig)`,
      );
    }
  }

  /** Server-side apply the manifests, then wait (watches) until every Deployment and DaemonSet is ready. */
  async deploy(opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<DeployResult> {
    const signal = deadline(opts.timeoutMs ?? 180_000, `deploy to namespace ${this.namespace}`, opts.signal);
    const client = KubernetesObjectApi.makeApiClient(this.kc);
    const t0 = nowMs();
    const [nsObj, ...rest] = [
      ...this.objects.filter((o) => o.kind === 'Namespace'),
      ...this.objects.filter((o) => o.kind !== 'Namespace'),
    ];
    const apply = (o: KubernetesObject): Promise<KubernetesObject> =>
      this.call(
        `apply ${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`,
        () => client.patch(o, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
        signal,
      );
    if (nsObj) await apply(nsObj);
    await this.waitForDefaultServiceAccount(signal);
    using pods = await this.watch<V1Pod>('v1', 'Pod', 'pods', signal);
    using deployments = await this.watch<V1Deployment>('apps/v1', 'Deployment', 'deployments', signal);
    using daemonsets = await this.watch<V1DaemonSet>('apps/v1', 'DaemonSet', 'daemonsets', signal);
    for (const o of rest) await apply(o);
    const wantDeploy = new Set(rest.filter((o) => o.kind === 'Deployment').map((o) => o.metadata!.name!));
    const wantDs = new Set(rest.filter((o) => o.kind === 'DaemonSet').map((o) => o.metadata!.name!));
    try {
      await deployments.waitFor(
        (items) =>
          items.filter((d) => wantDeploy.has(d.metadata!.name!) && deploymentReady(d)).length ===
          wantDeploy.size,
        signal,
      );
      await daemonsets.waitFor(
        (items) =>
          items.filter((d) => wantDs.has(d.metadata!.name!) && daemonSetReady(d)).length === wantDs.size,
        signal,
      );
    } catch (err) {
      const notReady = [...pods.objects.values()]
        .filter((p) => !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map(
          (p) => `${p.metadata?.name} (${p.status?.phase ?? '?'}${p.spec?.nodeName ? '' : ', unscheduled'})`,
        );
      throw new TargetError(
        `${(err as Error).message}; pods not ready: ${notReady.slice(0, 10).join(', ') || 'none created'}`,
        { cause: err },
      );
    }
    const readyMs = Math.round(nowMs() - t0);
    const latency = podLatency(podTimelines(pods.events));
    log.info(
      `deployed ${rest.length + (nsObj ? 1 : 0)} objects to ${this.namespace} in ${readyMs} ms; pods created→ready p50 ${latency.createdToReady.p50} ms p99 ${latency.createdToReady.p99} ms`,
    );
    return {
      namespace: this.namespace,
      objects: this.objects.map((o) => `${o.kind}/${o.metadata?.name}`),
      readyMs,
      podLatency: latency,
    };
  }

  /** The ServiceAccount admission plugin refuses pods until the namespace's "default" account exists. */
  private async waitForDefaultServiceAccount(signal: AbortSignal): Promise<void> {
    const core = this.kc.makeApiClient(CoreV1Api);
    const d = deadline(20_000, `ServiceAccount default in ${this.namespace}`, signal);
    for (;;) {
      try {
        await core.readNamespacedServiceAccount({ name: 'default', namespace: this.namespace });
        return;
      } catch (err) {
        if (!(err instanceof ApiException) || err.code !== 404)
          throw explainKubeError(err, 'read ServiceAccount', this.server);
      }
      await sleep(100, d);
    }
  }

  /**
   * Delete the namespace and wait until it is gone. Pods on nodes that no longer answer never
   * finish terminating, so after `forceAfterMs` remaining pods are deleted with grace period 0.
   */
  async teardown(
    opts: { signal?: AbortSignal; timeoutMs?: number; forceAfterMs?: number } = {},
  ): Promise<void> {
    const signal = deadline(opts.timeoutMs ?? 120_000, `delete namespace ${this.namespace}`, opts.signal);
    const core = this.kc.makeApiClient(CoreV1Api);
    const gone = (err: unknown): boolean => err instanceof ApiException && err.code === 404;
    try {
      await core.deleteNamespace({ name: this.namespace, propagationPolicy: 'Background' });
    } catch (err) {
      if (gone(err)) return;
      throw explainKubeError(err, `delete namespace ${this.namespace}`, this.server);
    }
    const t0 = Date.now();
    let forced = false;
    for (;;) {
      try {
        await core.readNamespace({ name: this.namespace });
      } catch (err) {
        if (gone(err)) return;
        throw explainKubeError(err, `read namespace ${this.namespace}`, this.server);
      }
      if (!forced && Date.now() - t0 > (opts.forceAfterMs ?? 15_000)) {
        forced = true;
        const left = await core.listNamespacedPod({ namespace: this.namespace });
        log.warn(`namespace ${this.namespace} still terminating; force-deleting ${left.items.length} pod(s)`);
        for (const p of left.items) {
          await core
            .deleteNamespacedPod({
              name: p.metadata!.name!,
              namespace: this.namespace,
              gracePeriodSeconds: 0,
            })
            .catch(() => undefined);
        }
      }
      await sleep(200, signal);
    }
  }
}

export function deploymentReady(d: V1Deployment): boolean {
  const want = d.spec?.replicas ?? 1;
  const s = d.status;
  return (
    (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
    (s?.updatedReplicas ?? 0) === want &&
    (s?.readyReplicas ?? 0) === want &&
    (s?.replicas ?? 0) === want
  );
}

export function daemonSetReady(d: V1DaemonSet): boolean {
  const s = d.status;
  if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 1)) return false;
  return (
    s.numberReady === s.desiredNumberScheduled && (s.updatedNumberScheduled ?? 0) === s.desiredNumberScheduled
  );
}
