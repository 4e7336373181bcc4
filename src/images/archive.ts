import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ScenarioError } from '../core/errors.ts';

/** Entries of a (ustar/GNU) tar file: name → bytes. Pure; enough for image archives. */
export function readTar(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  let longName: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (s: number, n: number): string =>
      h
        .subarray(s, s + n)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    const data = buf.subarray(off + 512, off + 512 + size);
    if (type === 'L') longName = data.toString('latin1').replace(/\0.*$/s, '');
    else if (type === '0' || type === '' || type === '\0') {
      name = name.replace(/^\.\//, '');
      out.set(name, data);
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

export interface ImageSize {
  file: string;
  tags: string[];
  /** Compressed bytes: config + every layer as it would be pushed (gzip). */
  compressedBytes: number;
  layers: { name: string; bytes: number; compressed: boolean }[];
  configBytes: number;
  format: 'docker-archive' | 'oci-layout';
}

const isGzip = (b: Buffer): boolean => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Compressed size of the image in a docker-archive (`docker save`, ggcr tarball) or OCI-layout tar. */
export function imageSize(file: string): ImageSize {
  let entries: Map<string, Buffer>;
  try {
    entries = readTar(readFileSync(file));
  } catch (err) {
    throw new ScenarioError(`cannot read image archive: ${(err as Error).message}`, { file, cause: err });
  }
  const layerSize = (name: string, b: Buffer): ImageSize['layers'][number] =>
    isGzip(b)
      ? { name, bytes: b.length, compressed: true }
      : { name, bytes: gzipSync(b, { level: 6 }).length, compressed: false };
  const manifestJson = entries.get('manifest.json');
  if (manifestJson) {
    const m = JSON.parse(manifestJson.toString('utf8')) as {
      Config: string;
      RepoTags?: string[];
      Layers: string[];
    }[];
    const first = m[0];
    if (!first) throw new ScenarioError('manifest.json lists no image', { file });
    const config = entries.get(first.Config);
    const layers = first.Layers.map((l) => {
      const b = entries.get(l);
      if (!b) throw new ScenarioError(`layer ${l} named in manifest.json is not in the archive`, { file });
      return layerSize(l, b);
    });
    const configBytes = config?.length ?? 0;
    return {
      file,
      tags: first.RepoTags ?? [],
      compressedBytes: configBytes + layers.reduce((a, l) => a + l.bytes, 0),
      layers,
      configBytes,
      format: 'docker-archive',
    };
  }
  const index = entries.get('index.json');
  if (index) {
    const blob = (digest: string): Buffer => {
      const b = entries.get(`blobs/${digest.replace(':', '/')}`);
      if (!b) throw new ScenarioError(`blob ${digest} missing from OCI layout`, { file });
      return b;
    };
    const idx = JSON.parse(index.toString('utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const mdesc = idx.manifests[0];
    if (!mdesc) throw new ScenarioError('index.json lists no manifest', { file });
    const man = JSON.parse(blob(mdesc.digest).toString('utf8')) as {
      config: { digest: string; size: number };
      layers: { digest: string; size: number }[];
    };
    const layers = man.layers.map((l) => layerSize(l.digest, blob(l.digest)));
    return {
      file,
      tags: mdesc.annotations?.['org.opencontainers.image.ref.name']
        ? [mdesc.annotations['org.opencontainers.image.ref.name']]
        : [],
      compressedBytes: man.config.size + layers.reduce((a, l) => a + l.bytes, 0),
      layers,
      configBytes: man.config.size,
      format: 'oci-layout',
    };
  }
  throw new ScenarioError(
    'not an image archive: neither manifest.json (docker-archive) nor index.json (OCI layout) inside',
    { file },
  );
}

/** What a container engine takes from an image: its config (OCI image spec `config`) and layer facts. */
export interface ImageConfig {
  file: string;
  /** sha256 of the config blob (the image id): the key of the unpacked rootfs cache. */
  id: string;
  architecture: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  layerCount: number;
  /** Bytes of the layers as tar streams (decompressed), i.e. what unpacking writes, give or take. */
  uncompressedBytes: number;
  compressedBytes: number;
}

/** The image config and layer facts of a docker-archive or OCI-layout tar (pure reading, no unpacking). */
export function imageConfig(file: string): ImageConfig {
  let entries: Map<string, Buffer>;
  try {
    entries = readTar(readFileSync(file));
  } catch (err) {
    throw new ScenarioError(`cannot read image archive: ${(err as Error).message}`, { file, cause: err });
  }
  const size = imageSize(file);
  let configBlob: Buffer | undefined;
  let layerBlobs: Buffer[];
  const manifestJson = entries.get('manifest.json');
  if (manifestJson) {
    const first = (JSON.parse(manifestJson.toString('utf8')) as { Config: string; Layers: string[] }[])[0]!;
    configBlob = entries.get(first.Config);
    layerBlobs = first.Layers.map((l) => entries.get(l)!);
  } else {
    const blob = (digest: string): Buffer | undefined => entries.get(`blobs/${digest.replace(':', '/')}`);
    const idx = JSON.parse(entries.get('index.json')!.toString('utf8')) as {
      manifests: { digest: string }[];
    };
    const man = JSON.parse(blob(idx.manifests[0]!.digest)!.toString('utf8')) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    configBlob = blob(man.config.digest);
    layerBlobs = man.layers.map((l) => blob(l.digest)!);
  }
  if (!configBlob) throw new ScenarioError('the image config blob is not in the archive', { file });
  const cfg = JSON.parse(configBlob.toString('utf8')) as {
    architecture?: string;
    config?: {
      Entrypoint?: string[] | null;
      Cmd?: string[] | null;
      Env?: string[] | null;
      WorkingDir?: string;
      User?: string;
    };
  };
  const c = cfg.config ?? {};
  return {
    file,
    id: `sha256:${createHash('sha256').update(configBlob).digest('hex')}`,
    architecture: cfg.architecture ?? 'unknown',
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
    env: c.Env ?? [],
    workingDir: c.WorkingDir || '/',
    user: c.User ?? '',
    layerCount: layerBlobs.length,
    uncompressedBytes: layerBlobs.reduce((a, b) => a + (isGzip(b) ? gunzipSync(b).length : b.length), 0),
    compressedBytes: size.compressedBytes,
  };
}
