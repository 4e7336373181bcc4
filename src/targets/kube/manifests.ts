import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { ScenarioError } from '../../core/errors.ts';
import { repoRoot } from '../../core/paths.ts';

/** The reference stack's manifests. */
export const defaultManifestDir = join(repoRoot, 'stack', 'deploy');

export interface ManifestOptions {
  /** Rename the stack's namespace (every namespaced object and the Namespace itself). */
  namespace?: string;
  /** Set on the pod templates of these workloads (e.g. the stack's own scheduler). */
  schedulerName?: string;
  /** Workloads that get `schedulerName` (default: Deployment "workload"). */
  scheduledWorkloads?: readonly string[];
  /** Replace images by name before the tag, e.g. {"edgechaos/edge-agent": "registry/x/edge-agent"}. */
  images?: Readonly<Record<string, string>>;
  /** Set environment variables on every container of these workloads (by workload name). */
  env?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Every object in `*.yaml`/`*.yml` files of `dir`, in file-name order, then document order. */
export function loadManifests(dir = defaultManifestDir): KubernetesObject[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const out: KubernetesObject[] = [];
  for (const f of files) {
    const file = join(dir, f);
    let docs: unknown[];
    try {
      docs = loadAllYaml(readFileSync(file, 'utf8')) as unknown[];
    } catch (err) {
      throw new ScenarioError(`cannot parse manifest: ${(err as Error).message}`, { file, cause: err });
    }
    docs.forEach((d, i) => {
      if (d === null || d === undefined) return;
      const o = d as KubernetesObject;
      if (!o.apiVersion || !o.kind || !o.metadata?.name) {
        throw new ScenarioError('manifest document lacks apiVersion, kind or metadata.name', {
          file,
          field: `document[${i}]`,
        });
      }
      out.push(o);
    });
  }
  if (out.length === 0) throw new ScenarioError('no manifests found', { file: dir });
  return out;
}

interface PodTemplateHolder {
  spec?: {
    template?: {
      spec?: {
        schedulerName?: string;
        containers?: { image?: string; env?: { name: string; value?: string; valueFrom?: unknown }[] }[];
      };
    };
  };
}

/** Pure: the objects with namespace, schedulerName and images rewritten (inputs untouched). */
export function prepareManifests(
  objects: readonly KubernetesObject[],
  opts: ManifestOptions = {},
): KubernetesObject[] {
  const scheduled = new Set(opts.scheduledWorkloads ?? ['workload']);
  return objects.map((orig) => {
    const o = structuredClone(orig) as KubernetesObject & PodTemplateHolder;
    if (opts.namespace) {
      if (o.kind === 'Namespace') o.metadata!.name = opts.namespace;
      else if (o.metadata!.namespace) o.metadata!.namespace = opts.namespace;
    }
    const pod = o.spec?.template?.spec;
    if (pod) {
      if (opts.schedulerName && scheduled.has(o.metadata!.name!)) pod.schedulerName = opts.schedulerName;
      const env = opts.env?.[o.metadata!.name!];
      for (const c of pod.containers ?? []) {
        for (const [name, value] of Object.entries(env ?? {}))
          c.env = [...(c.env ?? []).filter((e) => e.name !== name), { name, value }];
        if (!c.image || !opts.images) continue;
        const [name, tag] = splitImage(c.image);
        const replacement = opts.images[name];
        if (replacement) c.image = replacement.includes(':') ? replacement : `${replacement}${tag}`;
      }
    }
    return o;
  });
}

function splitImage(image: string): [string, string] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at)] : [image, ''];
}

/** The namespace the manifests live in (from the Namespace object, else the first namespaced object). */
export function manifestNamespace(objects: readonly KubernetesObject[]): string {
  const ns =
    objects.find((o) => o.kind === 'Namespace')?.metadata?.name ??
    objects.find((o) => o.metadata?.namespace)?.metadata?.namespace;
  if (!ns) throw new ScenarioError('manifests name no namespace');
  return ns;
}
