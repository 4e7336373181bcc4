import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { EdgechaosError, ToolMissingError } from '../core/errors.ts';
import { repoRoot, toolCacheDir, toolsDir } from '../core/paths.ts';
import { run } from '../core/proc.ts';
import { cachedBuild } from '../tools/cached-build.ts';

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
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(`${relative(dir, p)}\0`).update(readFileSync(p));
    }
  };
  walk(dir);
  return `edge-scheduler ${h.digest('hex').slice(0, 16)}`;
}

export interface EdgeSchedulerInstall {
  status: 'present' | 'cached' | 'built';
  detail: string;
  ms: number;
}

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
        const argv = ['nice', '-n', '10', 'bash', join(repoRoot, EDGE_SCHEDULER_MODULE, 'build'), staging];
        const r = await run(argv, {
          allowFailure: true,
          env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin` },
        });
        writeFileSync(logFile, `$ ${argv.join(' ')}\n${r.stdout}${r.stderr}`, { flag: 'a' });
        if (r.code !== 0)
          throw new EdgechaosError(`building the edge scheduler failed (exit ${r.code}); see ${logFile}`);
        renameSync(join(staging, 'edge-scheduler'), out!);
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    },
  });
}
