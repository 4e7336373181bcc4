import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import type { CleanupRegistry } from '../../../core/cleanup/registry.ts';
import type { ManagedProcess } from '../../../core/proc.ts';
import { sleep } from '../../../core/deadline.ts';
import { TargetError } from '../../../core/errors.ts';
import type { StackManifest } from '../../../stack/manifest.ts';
import { LocalDeployment } from '../deployment.ts';
import { bundleFor, roleImage, runNodeContainer } from './node.ts';
import { containerId, containerState, runcRoot } from './runtime.ts';
import { unpackImage } from './unpack.ts';

export type StartMode = 'process' | 'container-cold' | 'container-warm';

export interface StartSamples {
  mode: StartMode;
  node: string;
  /** image on disk (or binary) → first 200 on /healthz, ms, one per sample. */
  ms: number[];
  /** container-cold: the unpack part of each sample, ms. */
  unpackMs: number[];
}

/** One TCP connect to host:port: true once something accepts (a refused connect costs no HTTP machinery). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => (): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', done(true));
    s.once('error', done(false));
  });
}

/**
 * Time from t0 to the first 200 on `url`, the same probe for every mode: a TCP connect every ~1 ms
 * until the port accepts (cheap: the harness's own polling competes for the CPU the start-up being
 * measured needs), then GET until 200.
 */
export async function untilHealthy(
  url: string,
  t0: number,
  what: string,
  node: string,
  signal?: AbortSignal,
): Promise<number> {
  const u = new URL(url);
  const port = Number(u.port || 80);
  for (;;) {
    if (signal?.aborted) throw new TargetError(`${what} interrupted`);
    const ok =
      (await accepts(u.hostname, port)) &&
      (await fetch(url, { signal: AbortSignal.timeout(500) })
        .then((r) => r.status === 200)
        .catch(() => false));
    if (ok) return Math.round((performance.now() - t0) * 10) / 10;
    if (performance.now() - t0 > 20_000)
      throw new TargetError(`${what}: ${url} not healthy after 20 s`, { node });
    await sleep(1);
  }
}

/** One start to take: its index, its own port, and whether it is scored (warm-up starts come first and are not). */
export interface StartSlot {
  i: number;
  port: number;
  keep: boolean;
}

/** The starts of one measurement: `warmup` discarded ones, then `samples` scored ones, ports from `portBase` up. */
export function startSlots(samples: number, warmup: number, portBase: number): StartSlot[] {
  if (!Number.isInteger(samples) || samples < 0 || !Number.isInteger(warmup) || warmup < 0)
    throw new RangeError(`start samples and warm-up must be whole numbers ≥ 0 (got ${samples}, ${warmup})`);
  return Array.from({ length: warmup + samples }, (_, i) => ({ i, port: portBase + i, keep: i >= warmup }));
}

/**
 * The board cgroup's CPU weight (cgroup v1 `cpu.shares`, default 1024) while start-up is sampled: the
 * samples then wait less behind the host's other processes (other runs on a shared machine), which
 * made the scored median the noisiest criterion. The board's CPU quota still caps the start.
 */
export const measuredShares = 65_536;

/**
 * Start-up of a fresh edge agent on `edge` (new data dir, own port, offline so it needs no cloud),
 * inside that board's cgroup and network namespace, as the track means it:
 * - `process`: the manifest's command spawned → first 200 on /healthz;
 * - `container-cold`: image archive on disk → fresh unpack → container created → first 200;
 * - `container-warm`: the run's cached rootfs → container created → first 200.
 * Every sample's container/process is journaled before it starts and reverted after.
 */
export async function measureStarts(
  dep: LocalDeployment,
  stack: StackManifest,
  mode: StartMode,
  o: {
    samples: number;
    registry: CleanupRegistry;
    edge?: string;
    portBase?: number;
    signal?: AbortSignal;
    /** Starts taken first and discarded (they warm runc, the binary's pages, the cgroup paths). */
    warmup?: number;
  },
): Promise<StartSamples> {
  const edge = o.edge ?? dep.edges[0]!.name;
  const n = dep.local(edge);
  const out: StartSamples = { mode, node: edge, ms: [], unpackMs: [] };
  const archive = roleImage(stack.edge);
  if (mode !== 'process' && !archive)
    throw new TargetError(`${stack.file}: the edge role names no image (edge.image)`, { node: edge });
  const warmCache = join(dep.runDir, 'oci', 'rootfs');
  for (const { i, port, keep } of startSlots(o.samples, o.warmup ?? 0, o.portBase ?? 17100)) {
    const data = mkdtempSync(join(dep.runDir, `start-${mode}-${i}-`));
    const env: Record<string, string> = {
      ...stack.edge.env,
      EDGE_NODE_ID: `${edge}-start-${i}`,
      EDGE_LISTEN: `${n.address}:${port}`,
      CLOUD_URL: 'http://127.0.0.1:9',
      EDGE_MODE: 'offline',
      EDGE_DATA_DIR: data,
    };
    const url = `http://${n.address}:${port}${stack.edge.health}`;
    if (mode === 'process') {
      const argv = ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...stack.edge.command];
      const t0 = performance.now();
      const p = await dep.shell(edge).spawn(argv, {
        what: `start sample ${i} on ${edge}`,
        registry: o.registry,
        inResourceGroup: true,
        logName: `${edge}-start-process-${i}`,
      });
      try {
        const ms = await untilHealthy(url, t0, `process start ${i}`, edge, o.signal);
        if (keep) out.ms.push(ms);
      } finally {
        await p.handle.revert();
        rmSync(data, { recursive: true, force: true });
      }
      continue;
    }
    const tag = `${mode === 'container-cold' ? 'c' : 'w'}${i}`;
    const id = containerId(dep.runId, edge, tag);
    const bundle = join(dep.runDir, 'oci', 'samples', tag);
    const cache = mode === 'container-cold' ? join(dep.runDir, 'oci', `cold-${tag}`) : warmCache;
    const cgroupsPath = `/${basename(n.cgroups.memory)}/${tag}`;
    const h = o.registry.add('oci-containers', `start sample ${tag} on ${edge}`, {
      root: runcRoot,
      ids: [id],
      cgroupsPaths: [cgroupsPath],
      paths: [bundle, data, ...(mode === 'container-cold' ? [cache] : [])],
      runDir: dep.runDir,
    });
    let runc: ManagedProcess | undefined;
    try {
      const t0 = performance.now();
      const img = await unpackImage(archive!, cache);
      if (mode === 'container-cold' && keep) out.unpackMs.push(img.unpackMs);
      const oci = bundleFor({ name: edge, netns: n.netns, env, dataDir: data }, img, {
        id,
        cgroupsPath,
        bundle,
        token: `${dep.state.stackToken}.${edge}.${tag}`,
        roleEnv: stack.edge.env,
      });
      runc = await runNodeContainer(
        oci,
        data,
        join(dep.runDir, 'logs', `${edge}-start-${tag}.log`),
        `${dep.state.stackToken}.${edge}.${tag}`,
      );
      const ms = await untilHealthy(url, t0, `container start ${tag}`, edge, o.signal);
      if (keep) out.ms.push(ms);
    } finally {
      if (runc) await settled(id, runc);
      await h.revert();
    }
  }
  return out;
}

/**
 * Until `runc run` has either exited or taken the container past `creating` (bounded, 10 s): a sample
 * interrupted while runc was still creating its container would otherwise be reverted before the
 * container existed, and the container would appear after the revert.
 */
async function settled(id: string, runc: ManagedProcess): Promise<void> {
  const until = performance.now() + 10_000;
  while (runc.running && performance.now() < until) {
    const s = await containerState(id);
    if (s && s.status !== 'creating') return;
    await sleep(5);
  }
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Start-up evidence of a container run (written beside the run record for the start-up and image checks). */
export function writeStartupEvidence(
  runDir: string,
  samples: readonly StartSamples[],
  extra: Record<string, unknown> = {},
): string {
  const file = join(runDir, 'oci-startup.json');
  writeFileSync(
    file,
    JSON.stringify(
      {
        ...extra,
        samples: samples.map((s) => ({
          ...s,
          medianMs: median(s.ms),
          medianUnpackMs: s.unpackMs.length ? median(s.unpackMs) : undefined,
        })),
      },
      null,
      2,
    ),
  );
  return file;
}

/**
 * The campaign's start-up samples when the deployment runs its edges as containers (else undefined),
 * taken on the first edge that runs natively (an emulated arm64 edge's timings are not scored).
 * The start-up check judges warm starts (the image already unpacked, as on a board whose engine has
 * pulled it: container created → first 200); cold starts (image archive → fresh unpack → container →
 * first 200) and the unpack times are measured beside them and written, with the image's uncompressed
 * size and layer count, to `<runDir>/oci-startup.json`. For a steadier median (the noisiest criterion
 * of 5 × standard on a shared host) the board cgroup gets a high CPU weight while sampling
 * (`measuredShares`) and the first warm start is discarded.
 */
export function ociColdStarts(
  dep: unknown,
  stack: StackManifest,
  samples: number,
  signal?: AbortSignal,
): Promise<number[]> | undefined {
  if (!(dep instanceof LocalDeployment)) return undefined;
  const d = dep;
  // an emulated edge's timings are the emulator's: start-up is sampled on a native one, if any
  const edge = d.edges.find((e) => {
    const o = d.local(e.name).oci;
    return o && !o.emulated;
  })?.name;
  if (!edge) return undefined;
  return (async () => {
    const { CleanupRegistry, newRunId } = await import('../../../core/cleanup/registry.ts');
    await using reg = CleanupRegistry.open(newRunId('coldstart'));
    const o = { samples, registry: reg, edge, ...(signal ? { signal } : {}) };
    // The node's cgroup is journaled with the deployment: a kill -9 here leaves the raised weight only
    // on a cgroup that `cleanup` removes.
    const shares = join(d.local(edge).cgroups.cpu, 'cpu.shares');
    const before = readFileSync(shares, 'utf8').trim();
    writeFileSync(shares, String(measuredShares));
    let cold: StartSamples;
    let warm: StartSamples;
    try {
      cold = await measureStarts(d, stack, 'container-cold', o);
      // one discarded warm start first (runc, the binary's pages, the cgroup paths); ports after cold's
      warm = await measureStarts(d, stack, 'container-warm', { ...o, warmup: 1, portBase: 17100 + samples });
    } finally {
      writeFileSync(shares, before);
    }
    const { imageConfig } = await import('../../../images/archive.ts');
    const cfg = imageConfig(d.local(edge).oci!.image);
    writeStartupEvidence(d.runDir, [cold, warm], {
      image: cfg.file,
      layerCount: cfg.layerCount,
      uncompressedBytes: cfg.uncompressedBytes,
      compressedBytes: cfg.compressedBytes,
      cpuShares: measuredShares,
      warmup: { 'container-warm': 1 },
    });
    return warm.ms;
  })();
}
