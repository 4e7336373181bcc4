import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { repoRoot } from '../../core/paths.ts';
import { run } from '../../core/proc.ts';
import { which } from '../../tools/find.ts';
import { bundleRunner, IMAGE_APP_DIR } from '../../load/bundle.ts';

/**
 * The load runner image (`--load-replicas` on a cluster): this host's Node (the one running the
 * harness, dynamically linked; its debug info stripped when binutils' `strip` is there) with exactly the shared libraries `ldd` names for it, at the paths it
 * names them (the loader's default directories), and the runner bundle under /app (see
 * src/load/bundle.ts). Built with the stack's daemonless image builder (`mkimage -file`), as the
 * uplink proxy image, so no container engine is needed to make it.
 *
 * Built lazily, at the first run that needs it, and cached by content hash: the image's inputs
 * are this checkout's TypeScript (the runner) and the host's Node, which change without
 * `scripts/bootstrap` knowing, and only `--load-replicas` on a cluster needs the image at all.
 */

const log = logger('load-image');

export const LOAD_RUNNER_IMAGE = 'edgechaos/load-runner:dev';
/** Where the image keeps its node binary (mkimage installs the binary as /<name>). */
export const IMAGE_NODE = '/node';
export const IMAGE_RUNNER = `${IMAGE_APP_DIR}/runner.mjs`;

/** One file of the image: where it is on this host, where it goes in the image. */
export interface ImageFile {
  host: string;
  container: string;
}

/**
 * Pure: the shared libraries and loader in `ldd`'s output, each at the path the loader resolves it
 * to (linux-vdso is the kernel's). A library `ldd` cannot find is an error, not a smaller image.
 */
export function parseLdd(text: string): ImageFile[] {
  const out: ImageFile[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('linux-vdso') || l.startsWith('linux-gate')) continue;
    if (l.includes('=> not found')) throw new TargetError(`ldd: ${l}`);
    const m = /^(?:\S+ => )?(\/\S+) \(0x[0-9a-f]+\)$/.exec(l);
    if (!m) {
      if (l.includes('statically linked')) continue;
      throw new TargetError(`ldd: cannot read the line "${l}"`);
    }
    if (!out.some((f) => f.container === m[1])) out.push({ host: m[1]!, container: m[1]! });
  }
  return out;
}

/** Pure: mkimage's arguments for the load runner image. */
export function mkimageArgs(node: string, files: readonly ImageFile[], out: string): string[] {
  return [
    '-name',
    IMAGE_NODE.slice(1),
    '-bin',
    node,
    '-arch',
    'amd64',
    '-port',
    '0',
    ...files.flatMap((f) => ['-file', `${f.host}:${f.container}`]),
    '-cmd',
    IMAGE_RUNNER,
    '-out',
    out,
    '-tag',
    LOAD_RUNNER_IMAGE,
  ];
}

export interface LoadRunnerImage {
  /** The docker-archive. */
  archive: string;
  tag: string;
  /** The inputs' content hash (the cache key). */
  hash: string;
  /** Compressed size as a registry would store it (mkimage's figure), bytes. */
  compressedBytes: number;
  /** True when this call built it, false when the cached archive was current. */
  built: boolean;
}

/**
 * The load runner image as a docker-archive in `dir` (default stack/dist/images), rebuilt only when
 * its inputs' content hash changed (node, its libraries, the runner bundle, mkimage itself).
 */
export async function loadRunnerImage(
  dir = join(repoRoot, 'stack', 'dist', 'images'),
): Promise<LoadRunnerImage> {
  if (process.arch !== 'x64')
    throw new TargetError(
      `the load runner image is built from this host's Node: amd64 only, this is ${process.arch}`,
    );
  const mkimage = join(repoRoot, 'stack', 'dist', 'tools', 'mkimage');
  if (!existsSync(mkimage))
    throw new TargetError(`${mkimage} missing: run stack/build.sh (or scripts/bootstrap)`);
  const node = process.execPath;
  const libs = parseLdd((await run(['ldd', node])).stdout);
  const staging = mkdtempSync(join(tmpdir(), 'edgechaos-load-runner-'));
  try {
    const app = join(staging, 'app');
    const bundle = await bundleRunner(app);
    const files: ImageFile[] = [
      ...libs,
      ...bundle.map((f) => ({ host: join(app, f), container: `${IMAGE_APP_DIR}/${f}` })),
    ];
    // node ships with its debug info (99 MB); stripped, 86 MB: binutils' strip when the host has it
    const strip = which('strip');
    const h = createHash('sha256');
    h.update(`strip:${strip ? 'yes' : 'no'}\0`);
    for (const f of [{ host: node, container: IMAGE_NODE }, ...files, { host: mkimage, container: '' }]) {
      h.update(`${f.container}\0`);
      h.update(readFileSync(f.host));
    }
    const hash = h.digest('hex');
    const archive = join(dir, 'load-runner-amd64.tar');
    const stamp = `${archive}.inputs`;
    const cached = existsSync(archive) && existsSync(stamp) ? readFileSync(stamp, 'utf8').split(' ') : [];
    if (cached[0] === hash)
      return { archive, tag: LOAD_RUNNER_IMAGE, hash, compressedBytes: Number(cached[1]), built: false };
    mkdirSync(dir, { recursive: true });
    rmSync(stamp, { force: true });
    let bin = node;
    if (strip) {
      bin = join(staging, 'node');
      await run([strip, '--strip-unneeded', '-o', bin, node]);
    }
    const r = await run([mkimage, ...mkimageArgs(bin, files, archive)]);
    const compressedBytes = Number(/compressed=(\d+)/.exec(r.stdout)?.[1] ?? NaN);
    writeFileSync(stamp, `${hash} ${compressedBytes}`);
    log.info(
      `load runner image ${LOAD_RUNNER_IMAGE}: ${(compressedBytes / 1e6).toFixed(1)} MB compressed, archive ${(statSync(archive).size / 1e6).toFixed(1)} MB`,
    );
    return { archive, tag: LOAD_RUNNER_IMAGE, hash, compressedBytes, built: true };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
