import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import { ToolMissingError } from '../core/errors.ts';
import { toolsDir } from '../core/paths.ts';
import { ambientEngine, dockerdPaths, dockerHostOf, ensureDockerd } from './dockerd.ts';
import { localNodeImage } from './kind-image.ts';

/**
 * What `--target kind` needs around kind itself: the pinned kind on PATH, a Docker engine (the one
 * the environment points at — a CI runner's — or edgechaos's private dockerd, started journaled in
 * the run's registry so the run's end or `edgechaos cleanup` stops it), and the node image (the one
 * bootstrap --kind built here, or kind's own kindest/node where the engine can pull).
 */

export const KIND_BOOTSTRAP_HINT =
  'run `edgechaos bootstrap --kind` (scripts/bootstrap --kind): Debian docker.io, kind at its pin and the offline Kind node image';

/** .tools/bin first on PATH, so `kind` (and the reverters' kind) is the pinned build. */
export function useToolsPath(): void {
  const bin = join(toolsDir(), 'bin');
  const path = process.env['PATH'] ?? '';
  if (!path.split(delimiter).includes(bin)) process.env['PATH'] = `${bin}${delimiter}${path}`;
}

/**
 * For `edgechaos cleanup` and reverters: point DOCKER_HOST at the private engine when it is running
 * and nothing else was chosen, so journaled `kind delete` / `docker exec` undos reach their nodes.
 */
export function usePrivateDockerIfRunning(): void {
  useToolsPath();
  const p = dockerdPaths();
  if (!process.env['DOCKER_HOST'] && existsSync(p.socket)) process.env['DOCKER_HOST'] = dockerHostOf(p);
}

/** Preflight (nothing started): kind is built and an engine is there or can be started. */
export async function kindEnvironmentPreflight(): Promise<void> {
  useToolsPath();
  if (!existsSync(join(toolsDir(), 'bin', 'kind'))) throw new ToolMissingError('kind', KIND_BOOTSTRAP_HINT);
  if (await ambientEngine()) return;
  if (!existsSync('/usr/sbin/dockerd')) throw new ToolMissingError('dockerd', KIND_BOOTSTRAP_HINT);
}

export interface KindEnvironment {
  /** Node image to pass to kind, or undefined for kind's default. */
  nodeImage?: string;
  engine: string;
}

export async function kindEnvironment(registry: CleanupRegistry): Promise<KindEnvironment> {
  await kindEnvironmentPreflight();
  const ambient = await ambientEngine();
  if (ambient)
    return { engine: `docker ${ambient} (DOCKER_HOST=${process.env['DOCKER_HOST'] ?? 'default'})` };
  const d = await ensureDockerd(registry);
  const nodeImage = await localNodeImage();
  if (!nodeImage) {
    let want = '';
    try {
      want = ` (${readFileSync(join(toolsDir(), 'kind', 'node-image'), 'utf8').trim()})`;
    } catch {
      /* never built */
    }
    throw new ToolMissingError(`the Kind node image${want}`, KIND_BOOTSTRAP_HINT);
  }
  return { nodeImage, engine: `private dockerd ${d.version} (${d.host})` };
}
