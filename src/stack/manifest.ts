import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../config/load.ts';
import { ScenarioError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';

/**
 * How a stack plugs into edgechaos. Per role, the command to run as an argument array (any language),
 * extra env, the port it listens on. The harness itself supplies the contract's env vars:
 * edge: EDGE_NODE_ID, EDGE_LISTEN, CLOUD_URL, EDGE_MODE, EDGE_DATA_DIR; hub: HUB_LISTEN, HUB_DATA_DIR.
 * Relative paths (command[0] when it contains a '/', images) are relative to the manifest's folder.
 */
const role = z
  .object({
    command: z.array(z.string().min(1)).min(1, 'command must be a non-empty argument array'),
    env: z.record(z.string(), z.string()).default({}),
    port: z.number().int().min(1).max(65535),
    /** Health endpoint that answers 200 once ready. */
    health: z.string().startsWith('/').default('/healthz'),
    /** The role's image: a key of `images` or an archive path; run as a container by default (--runtime). */
    image: z.string().min(1).optional(),
  })
  .strict();

export const stackSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1).default('dev'),
    edge: role,
    hub: role,
    /** OCI/docker archives of the images, by image name (for the image-size check and Kind). */
    images: z.record(z.string(), z.string()).default({}),
    /** Kubernetes manifests folder (kube/kind targets). */
    kube: z
      .object({
        manifests: z.string(),
        /** The workload running the edge agent on every edge node (its CLOUD_URL is pointed at the uplink proxy). */
        edgeWorkload: z.string().default('edge-agent'),
        /**
         * The stack's own scheduler: `edge-scheduler` is the reference one (built by `bootstrap --kube`),
         * started by the harness on kube-local; its workloads get `schedulerName` (on clusters the
         * stack's manifests deploy their scheduler themselves).
         */
        scheduler: z.enum(['edge-scheduler']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type StackManifestInput = z.input<typeof stackSchema>;
export type StackManifest = z.output<typeof stackSchema> & { file: string };
export type RoleSpec = StackManifest['edge'];

export function defineStack(s: StackManifestInput): StackManifestInput {
  return s;
}

export const referenceStackFile = join(repoRoot, 'stack', 'edgechaos.stack.ts');

function resolvePath(base: string, p: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/** Load and validate a stack manifest; resolve its relative paths; check that the commands exist. */
export async function loadStack(
  file = referenceStackFile,
  opts: { requireBuilt?: boolean } = {},
): Promise<StackManifest> {
  const raw = await loadConfig(file, stackSchema, 'stack manifest');
  const base = dirname(resolve(file));
  const fixRole = (r: RoleSpec): RoleSpec => ({
    ...r,
    command: r.command.map((c, i) => (i === 0 && c.includes('/') ? resolvePath(base, c) : c)),
    ...(r.image ? { image: resolvePath(base, raw.images[r.image] ?? r.image) } : {}),
  });
  const m: StackManifest = {
    ...raw,
    file: resolve(file),
    edge: fixRole(raw.edge),
    hub: fixRole(raw.hub),
    images: Object.fromEntries(Object.entries(raw.images).map(([k, v]) => [k, resolvePath(base, v)])),
    ...(raw.kube ? { kube: { ...raw.kube, manifests: resolvePath(base, raw.kube.manifests) } } : {}),
  };
  if (opts.requireBuilt !== false) {
    for (const r of ['edge', 'hub'] as const) {
      const img = m[r].image;
      if (img && !existsSync(img))
        throw new ScenarioError(`image ${img} does not exist (build the stack: edgechaos bootstrap)`, {
          file,
          field: `${r}.image`,
        });
      const exe = m[r].command[0]!;
      if (exe.includes('/') && !existsSync(exe)) {
        throw new ScenarioError(
          `${exe} does not exist (build the stack: edgechaos bootstrap, or stack/build.sh)`,
          { file, field: `${r}.command[0]` },
        );
      }
      if (exe.includes('/') && !isExecutableFile(exe))
        throw new ScenarioError(`${exe} is not an executable file`, { file, field: `${r}.command[0]` });
      if (!exe.includes('/') && findOnPath(exe) === undefined)
        throw new ScenarioError(
          `command "${exe}" is not on PATH (${process.env['PATH'] ?? ''}); give a path or install it`,
          { file, field: `${r}.command[0]` },
        );
    }
  }
  return m;
}

function isExecutableFile(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Where `exe` (a name without '/') would be found by execvp, or undefined. */
export function findOnPath(exe: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(':')) {
    const p = join(dir || '.', exe);
    if (isExecutableFile(p)) return p;
  }
  return undefined;
}
