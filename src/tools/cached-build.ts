import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { EdgechaosError } from '../core/errors.ts';
import { run } from '../core/proc.ts';

/**
 * One routine for every pinned build edgechaos makes (Go tools, the embedded control plane, the edge
 * scheduler, kind and its node image): the checkout's copy is used when its stamp matches; else the
 * per-machine cache's copy (~/.cache/edgechaos/tools) is copied in; else it is built into a staging
 * path next to the cache entry, moved into the cache, and copied in. A stamp names the exact build
 * (versions, flags, source hashes), so a changed pin or source rebuilds and nothing stale is reused.
 */

/** One artefact: a file or a directory (copied with its symlinks), in the cache and in the checkout. */
export interface CachedOutput {
  cache: string;
  dest: string;
}

export interface CachedBuildSpec {
  /** Identifies the exact build; compared verbatim. */
  stamp: string;
  outputs: readonly CachedOutput[];
  /** Files holding the stamp of the cache entry and of the checkout's copy. */
  cacheStamp: string;
  destStamp: string;
  /** Relative paths that must exist inside directory outputs for an entry to count as complete. */
  required?: readonly string[];
  /** Build every output; `staging[i]` is where outputs[i] must be written (file or directory). */
  build: (staging: string[]) => Promise<void>;
  /** Copy into the checkout (default true); false for outputs that stay in the cache. */
  copy?: boolean;
}

export interface CachedBuildResult {
  status: 'present' | 'cached' | 'built';
  detail: string;
  ms: number;
}

/** sha256 (hex) over `seed`, then every file below `dir` (sorted; relative path and content): a source stamp. */
export function treeHash(dir: string, seed = ''): string {
  const h = createHash('sha256').update(seed);
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) h.update(`${relative(dir, p)}\0`).update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** Run a Go build script (niced, Go on PATH), appending its output to `logFile`; fails naming `what`. */
export async function runGoBuild(argv: readonly string[], logFile: string, what: string): Promise<void> {
  const full = ['nice', '-n', '10', 'bash', ...argv];
  const r = await run(full, {
    allowFailure: true,
    env: { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin` },
  });
  writeFileSync(logFile, `$ ${full.join(' ')}\n${r.stdout}${r.stderr}`, { flag: 'a' });
  if (r.code !== 0) throw new EdgechaosError(`building ${what} failed (exit ${r.code}); see ${logFile}`);
}

const readStamp = (f: string): string | undefined => {
  try {
    return readFileSync(f, 'utf8').trim();
  } catch {
    return undefined;
  }
};

function complete(paths: readonly string[], stampFile: string, spec: CachedBuildSpec): boolean {
  if (readStamp(stampFile) !== spec.stamp) return false;
  return paths.every(
    (p) =>
      existsSync(p) &&
      (!statSync(p).isDirectory() || (spec.required ?? []).every((r) => existsSync(join(p, r)))),
  );
}

/** Copy a file or a directory tree (symlinks kept as symlinks) to `to`, replacing it atomically. */
export function copyArtefact(from: string, to: string): void {
  const tmp = `${to}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(to), { recursive: true });
  const copy = (src: string, dst: string): void => {
    const st = lstatSync(src);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (st.isDirectory()) {
      mkdirSync(dst);
      for (const name of readdirSync(src)) copy(join(src, name), join(dst, name));
    } else {
      copyFileSync(src, dst);
      chmodSync(dst, st.mode & 0o7777);
    }
  };
  copy(from, tmp);
  rmSync(to, { recursive: true, force: true });
  renameSync(tmp, to);
}

export async function cachedBuild(spec: CachedBuildSpec): Promise<CachedBuildResult> {
  const t0 = Date.now();
  const done = (status: CachedBuildResult['status']): CachedBuildResult => ({
    status,
    detail: spec.stamp,
    ms: Date.now() - t0,
  });
  const copy = spec.copy !== false;
  const install = (): void => {
    if (!copy) return;
    for (const o of spec.outputs) copyArtefact(o.cache, o.dest);
    mkdirSync(dirname(spec.destStamp), { recursive: true });
    writeFileSync(spec.destStamp, spec.stamp + '\n');
  };
  if (
    copy &&
    complete(
      spec.outputs.map((o) => o.dest),
      spec.destStamp,
      spec,
    )
  )
    return done('present');
  if (
    complete(
      spec.outputs.map((o) => o.cache),
      spec.cacheStamp,
      spec,
    )
  ) {
    install();
    return done('cached');
  }
  const staging = spec.outputs.map((o) => `${o.cache}.build-${process.pid}`);
  for (const s of staging) {
    rmSync(s, { recursive: true, force: true });
    mkdirSync(dirname(s), { recursive: true });
  }
  try {
    await spec.build(staging);
    rmSync(spec.cacheStamp, { force: true });
    spec.outputs.forEach((o, i) => {
      rmSync(o.cache, { recursive: true, force: true });
      renameSync(staging[i]!, o.cache);
    });
    mkdirSync(dirname(spec.cacheStamp), { recursive: true });
    writeFileSync(spec.cacheStamp, spec.stamp + '\n');
  } finally {
    for (const s of staging) rmSync(s, { recursive: true, force: true });
  }
  install();
  return done('built');
}
