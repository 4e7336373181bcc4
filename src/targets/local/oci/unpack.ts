import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, posix } from 'node:path';
import { ScenarioError, TargetError } from '../../../core/errors.ts';
import { imageConfig, type ImageConfig } from '../../../images/archive.ts';
import { requireTool } from '../../../tools/find.ts';
import { defaultPath, envValue, imageArgs } from './spec.ts';

export interface UnpackedImage {
  config: ImageConfig;
  rootfs: string;
  /** ms spent unpacking (0 when the cached rootfs was reused). */
  unpackMs: number;
  cached: boolean;
}

/**
 * Unpack an image archive into `<cacheDir>/<image id>/rootfs`, once: the layers are applied in order,
 * whiteouts included, by go-containerregistry (`crane export`, mutate.Extract: the flattened
 * filesystem as one tar stream), and that stream is extracted by GNU tar keeping owners and modes.
 * Atomic: a half-written rootfs is never reused (temporary name, then rename).
 */
export async function unpackImage(archive: string, cacheDir: string): Promise<UnpackedImage> {
  if (!existsSync(archive))
    throw new ScenarioError(`image archive ${archive} does not exist (build the stack)`, { file: archive });
  const config = cachedConfig(archive);
  const dir = join(cacheDir, config.id.replace(':', '-'));
  const rootfs = join(dir, 'rootfs');
  if (existsSync(rootfs)) return { config, rootfs, unpackMs: 0, cached: true };
  const crane = requireTool('crane');
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${randomBytes(3).toString('hex')}`;
  mkdirSync(join(tmp, 'rootfs'), { recursive: true });
  const t0 = performance.now();
  try {
    await exportInto(crane, archive, join(tmp, 'rootfs'));
    mkdirSync(dir, { recursive: true });
    renameSync(join(tmp, 'rootfs'), rootfs);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { config, rootfs, unpackMs: Math.round((performance.now() - t0) * 10) / 10, cached: false };
}

const configs = new Map<string, { key: string; config: ImageConfig }>();

/** imageConfig, read once per archive version (path, size, mtime): the warm path does not re-read the tar. */
function cachedConfig(archive: string): ImageConfig {
  const st = statSync(archive);
  const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
  const hit = configs.get(archive);
  if (hit?.key === key) return hit.config;
  const config = imageConfig(archive);
  configs.set(archive, { key, config });
  return config;
}

/** `crane export - - < archive | tar -x -C dir` without a shell. */
function exportInto(crane: string, archive: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const input = openSync(archive, 'r');
    const ex = spawn(crane, ['export', '-', '-'], { stdio: [input, 'pipe', 'pipe'] });
    closeSync(input);
    const tar = spawn('tar', ['--numeric-owner', '--same-owner', '-xpf', '-', '-C', dir], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    ex.stdout!.pipe(tar.stdin);
    let err = '';
    ex.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    tar.stderr.on('data', (b: Buffer) => (err += b.toString()));
    let left = 2;
    let failed: string | undefined;
    const done = (what: string) => (code: number | null) => {
      if (code !== 0) failed ??= `${what} exited ${code}`;
      if (--left > 0) return;
      if (failed)
        reject(new TargetError(`unpacking ${archive} failed: ${failed}: ${err.trim().slice(0, 500)}`));
      else resolve();
    };
    ex.on('error', reject);
    tar.on('error', reject);
    ex.on('close', done('crane export'));
    tar.on('close', done('tar'));
  });
}

/**
 * Resolve a path inside a rootfs, following symlinks as the container would (absolute targets
 * re-rooted). Undefined when a component is missing.
 */
export function resolveInRootfs(rootfs: string, path: string): string | undefined {
  let parts = posix.normalize(path).split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (parts.length) {
    const p = parts.shift()!;
    if (p === '..') {
      done.pop();
      continue;
    }
    const host = join(rootfs, ...done, p);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      parts = [...target.split('/').filter(Boolean), ...parts];
      continue;
    }
    done.push(p);
  }
  return join(rootfs, ...done);
}

/**
 * The image's process, checked before anything starts: the entrypoint exists in the rootfs (found on
 * the image's PATH when it has no '/'), is an executable file, and, for a script, so is its
 * interpreter. Errors name the image and the path.
 */
export function checkEntrypoint(img: UnpackedImage): { args: string[]; resolved: string; path: string } {
  const args = imageArgs(img.config);
  const file = img.config.file;
  if (args.length === 0)
    throw new ScenarioError('the image has neither Entrypoint nor Cmd', { file, field: 'config.Entrypoint' });
  const exe = args[0]!;
  const candidates = exe.includes('/')
    ? [posix.resolve(img.config.workingDir, exe)]
    : (envValue(img.config.env, 'PATH') ?? defaultPath).split(':').map((d) => posix.join(d, exe));
  const check = (p: string, what: string): string => {
    const host = resolveInRootfs(img.rootfs, p);
    if (!host || !existsSync(host))
      throw new ScenarioError(`${what} ${p} does not exist in the image`, {
        file,
        field: 'config.Entrypoint',
      });
    const st = statSync(host);
    if (!st.isFile() || (st.mode & 0o111) === 0)
      throw new ScenarioError(`${what} ${p} is not an executable file in the image`, {
        file,
        field: 'config.Entrypoint',
      });
    return host;
  };
  const found = candidates.find((c) => {
    const h = resolveInRootfs(img.rootfs, c);
    return h !== undefined && existsSync(h);
  });
  const resolved = check(found ?? candidates[0]!, 'entrypoint');
  const head = readFileSync(resolved).subarray(0, 256).toString('latin1');
  if (head.startsWith('#!')) {
    const interp = head.slice(2).split('\n')[0]!.trim().split(/\s+/)[0]!;
    check(interp, `interpreter of ${found ?? candidates[0]!}:`);
  }
  return { args, resolved, path: found ?? candidates[0]! };
}
