import { accessSync, constants, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ToolMissingError } from '../core/errors.ts';
import { repoRoot, toolCacheDir, toolsDir } from '../core/paths.ts';
import { cachedBuild, runGoBuild, treeHash, type CachedBuildResult } from '../tools/cached-build.ts';

export const EDGE_SCHEDULER_MODULE = join('stack', 'scheduler');

export const EDGE_SCHEDULER_INSTALL_HINT =
  'run `edgechaos bootstrap --kube`: after the control plane it builds stack/scheduler (kube-scheduler with the edge plugins) into .tools/bin/edge-scheduler — seconds with a warm Go build cache';

/** Where bootstrap puts the edge scheduler. */
export function edgeSchedulerPath(): string {
  return join(toolsDir(), 'bin', 'edge-scheduler');
}

/** The built edge-scheduler, or a ToolMissingError with the install hint. */
export function edgeSchedulerBinary(): string {
  const p = edgeSchedulerPath();
  try {
    accessSync(p, constants.X_OK);
  } catch {
    throw new ToolMissingError('edge-scheduler', EDGE_SCHEDULER_INSTALL_HINT);
  }
  return p;
}

/** Hash of every file of the module: a change to the plugin rebuilds. */
export function edgeSchedulerStamp(): string {
  const dir = join(repoRoot, EDGE_SCHEDULER_MODULE);
  return `edge-scheduler ${treeHash(dir).slice(0, 16)}`;
}

export type EdgeSchedulerInstall = CachedBuildResult;

/**
 * Make .tools/bin/edge-scheduler this exact build: present → nothing; in the per-machine cache →
 * copy; otherwise run stack/scheduler/build (niced) into the cache, then copy.
 */
export async function installEdgeScheduler(logFile: string): Promise<EdgeSchedulerInstall> {
  const want = edgeSchedulerStamp();
  const bin = edgeSchedulerPath();
  const cacheDir = join(toolCacheDir(), `edge-scheduler@${want.split(' ')[1]}`);
  return cachedBuild({
    stamp: want,
    outputs: [{ cache: join(cacheDir, 'edge-scheduler'), dest: bin }],
    cacheStamp: join(cacheDir, 'stamp'),
    destStamp: `${bin}.version`,
    build: async ([out]) => {
      const staging = `${out!}.dir`;
      mkdirSync(staging, { recursive: true });
      try {
        await runGoBuild(
          [join(repoRoot, EDGE_SCHEDULER_MODULE, 'build'), staging],
          logFile,
          'the edge scheduler',
        );
        renameSync(join(staging, 'edge-scheduler'), out!);
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    },
  });
}
