/**
 * Benchmark of the reference edge stack (stack/): prints figures, asserts nothing.
 *
 *   npx tsx bench/stack.ts            (builds stack/dist with stack/build.sh when missing)
 *
 * Measures, on this machine and on 127.0.0.1 only:
 *   - compressed image size of each docker-archive (layer blobs + config, parsed from the tar)
 *   - median of 20 cold starts (spawn → first 200 on /healthz) of edge-agent and cloud-hub, beside a
 *     minimal Go net/http hello-world built on the fly (the lower bound)
 *   - idle RSS of edge-agent (VmRSS from /proc/<pid>/status)
 *   - sustained acknowledged writes/s against one agent (concurrency 32, 5 s, hub online)
 *   - convergence: 100k records queued while the hub is down, time from hub start to all in the ledger
 *   - as root with runc: process cold start vs container cold start (image on disk → fresh unpack →
 *     container → first 200) vs container warm start (cached rootfs), median of 20 each, interleaved,
 *     on one rpi4 edge of a local deployment (in its board cgroup and namespace); unpack time and
 *     uncompressed size of each image. Goal: container warm ≤ process + 30 ms (median).
 *     `npx tsx bench/stack.ts --containers` runs this part only.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

import { freePort } from '../src/core/net.ts';
import { imageSize } from '../src/images/archive.ts';
import {
  execFileP,
  stackDir,
  dist,
  edgeBin,
  hubBin,
  work,
  sleep,
  median,
  start,
  stop,
  keepAlive,
  request,
  waitHealthy,
  coldStarts,
  buildPeer,
  vmRSS,
  status,
  record,
  sustainedWrites,
  writeMany,
  ledgerRows,
  MB,
  fmtMB,
  rows,
  row,
} from './stack-proc.ts';

async function main(): Promise<void> {
  if (process.platform !== 'linux') throw new Error('linux only (/proc, static linux binaries)');
  process.stderr.write('building stack/dist (stack/build.sh)…\n');
  await execFileP('bash', [join(stackDir, 'build.sh')], { cwd: stackDir });
  for (const b of [edgeBin, hubBin]) if (!existsSync(b)) throw new Error(`${b} missing after build`);

  imageRows();
  const { peer, edgeMs } = await coldStartRows();
  await runtimeRows(peer, edgeMs);
  await containerStarts();
  printTable();
}

/** Compressed size and layers of each image, against the track's budgets. */
function imageRows(): void {
  for (const name of ['edge-agent', 'cloud-hub']) {
    for (const a of ['amd64', 'arm64']) {
      const f = join(dist, 'images', `${name}-${a}.tar`);
      const img = imageSize(f);
      const [total, layers] = [img.compressedBytes, img.layers.length];
      const budget = name === 'edge-agent' ? 6 * MB : 10 * MB;
      row(
        `image ${name} ${a} (compressed, ${layers} layer)`,
        fmtMB(total),
        `budget ${fmtMB(budget)}`,
        `${(total / budget).toFixed(2)}x`,
      );
    }
  }
  const padded = join(dist, 'fixtures', 'images', 'edge-agent-padded-amd64.tar');
  if (existsSync(padded)) {
    const img = imageSize(padded);
    const [total, layers] = [img.compressedBytes, img.layers.length];
    row(
      `image edge-agent padded fixture (${layers} layers)`,
      fmtMB(total),
      `budget ${fmtMB(10 * MB)}`,
      `${(total / (10 * MB)).toFixed(2)}x`,
    );
  }
}

/** Median cold starts of the agent and the hub beside a minimal Go hello-world (the lower bound). */
async function coldStartRows(): Promise<{ peer: string; edgeMs: number }> {
  process.stderr.write('building the hello-world peer…\n');
  const peer = await buildPeer();
  const peerMs = await coldStarts(peer, (port) => ({ LISTEN: `127.0.0.1:${port}` }));
  row('cold start peer hello-world (median of 20)', `${peerMs.toFixed(1)} ms`, 'lower bound', '1.00x');
  const deadHub = `http://127.0.0.1:${await freePort()}`;
  const edgeMs = await coldStarts(edgeBin, (port, dir) => ({
    EDGE_NODE_ID: 'bench',
    EDGE_LISTEN: `127.0.0.1:${port}`,
    CLOUD_URL: deadHub,
    EDGE_DATA_DIR: dir,
  }));
  row(
    'cold start edge-agent (median of 20)',
    `${edgeMs.toFixed(1)} ms`,
    `peer ${peerMs.toFixed(1)} ms`,
    `${(edgeMs / peerMs).toFixed(2)}x`,
  );
  const hubMs = await coldStarts(hubBin, (port, dir) => ({
    HUB_LISTEN: `127.0.0.1:${port}`,
    HUB_DATA_DIR: dir,
  }));
  row(
    'cold start cloud-hub (median of 20)',
    `${hubMs.toFixed(1)} ms`,
    `peer ${peerMs.toFixed(1)} ms`,
    `${(hubMs / peerMs).toFixed(2)}x`,
  );

  return { peer, edgeMs };
}

/** One hub + one agent: idle RSS, sustained writes/s, 100k queued while the hub is down, restart holding them. */
async function runtimeRows(peer: string, edgeMs: number): Promise<void> {
  const hubPort = await freePort();
  const hubDir = mkdtempSync(join(work, 'hub-'));
  const hubUrl = `http://127.0.0.1:${hubPort}`;
  const startHub = async () => {
    const p = start(hubBin, {
      HUB_LISTEN: `127.0.0.1:${hubPort}`,
      HUB_DATA_DIR: hubDir,
      HUB_LOG_LEVEL: 'warn',
    });
    await waitHealthy(hubUrl, p);
    return p;
  };
  let hub = await startHub();
  const edgePort = await freePort();
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const edgeEnv = {
    EDGE_NODE_ID: 'bench',
    EDGE_LISTEN: `127.0.0.1:${edgePort}`,
    CLOUD_URL: hubUrl,
    EDGE_DATA_DIR: mkdtempSync(join(work, 'edge-')),
    EDGE_LOG_LEVEL: 'warn',
  };
  const edge = start(edgeBin, edgeEnv);
  await waitHealthy(edgeUrl, edge);
  await sleep(1000);
  const peerProc = start(peer, { LISTEN: `127.0.0.1:${await freePort()}` });
  await sleep(500);
  const peerRss = vmRSS(peerProc.child.pid!);
  await stop(peerProc);
  const rss = vmRSS(edge.child.pid!);
  row(
    'idle RSS edge-agent (VmRSS, 1 s after start)',
    fmtMB(rss),
    `peer ${fmtMB(peerRss)}; budget 20 MB`,
    `${(rss / peerRss).toFixed(2)}x peer`,
  );

  const w = await sustainedWrites(edgeUrl, 32, 5000);
  row(
    'sustained acknowledged writes/s (c=32, 5 s, hub online)',
    `${w.rate.toFixed(0)}/s`,
    `${w.errors} errors`,
    '',
  );

  // Drain what the write test queued, then cut the hub and queue 100k.
  for (let s = await status(edgeUrl); s.pending > 0; s = await status(edgeUrl)) await sleep(50);
  await stop(hub);
  const N = 100_000;
  const tq = Date.now();
  await writeMany(edgeUrl, 'q', N, 64);
  const queueSec = (Date.now() - tq) / 1000;
  const st = await status(edgeUrl);
  row(
    'queue 100k writes while the hub is down',
    `${queueSec.toFixed(1)} s`,
    `${(N / queueSec).toFixed(0)}/s, mode ${st.mode}, pending ${st.pending}`,
    '',
  );

  const metric = async (name: string) => {
    const text = (await request('GET', `${edgeUrl}/metrics`)).text;
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  };
  const sentBefore = await metric('edge_sync_bytes_sent_total');
  const t0 = Date.now();
  hub = await startHub();
  for (let s = await status(edgeUrl); s.pending > 0; s = await status(edgeUrl)) await sleep(20);
  const convSec = (Date.now() - t0) / 1000;
  const led = await ledgerRows(hubUrl, 'bench', 'q-');
  row(
    'converge 100k queued records after hub start',
    `${convSec.toFixed(2)} s`,
    `target 10 s; ledger: ${led.rows} rows, ${led.distinct} distinct of ${N}`,
    `${(convSec / 10).toFixed(2)}x target`,
  );
  const sent = (await metric('edge_sync_bytes_sent_total')) - sentBefore;
  row(
    'uplink wire bytes per record, 100k catch-up (edge metric)',
    `${(sent / N).toFixed(1)} B`,
    `record JSON ~${record('q-50000', 50000).length} B`,
    `${(sent / N / record('q-50000', 50000).length).toFixed(2)}x`,
  );

  await stop(edge, 'SIGTERM');

  // Restart the agent on its full data dir (after kill -9): start-up must not grow with the data held.
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    const p = start(edgeBin, edgeEnv);
    await waitHealthy(edgeUrl, p);
    warm.push(Number(process.hrtime.bigint() - t) / 1e6);
    await stop(p);
  }
  const held = median(warm);
  row(
    `start edge-agent holding ${Math.round((w.acked + N) / 1000)}k records (median of 5, after kill -9)`,
    `${held.toFixed(1)} ms`,
    `empty ${edgeMs.toFixed(1)} ms`,
    `${(held / edgeMs).toFixed(2)}x`,
  );
  await stop(hub, 'SIGTERM');
  keepAlive.destroy();
}

/** Process vs container start-up in a board cgroup of a real local deployment (issue 16). */
async function containerStarts(): Promise<void> {
  if (process.getuid?.() !== 0) {
    row('container start-up', 'not measured', 'needs root (namespaces, cgroups, runc)', '-');
    return;
  }
  const { loadStack } = await import('../src/stack/manifest.ts');
  const { measureStarts, median: med } = await import('../src/targets/local/oci/startup.ts');
  const { unpackImage } = await import('../src/targets/local/oci/unpack.ts');
  const { imageConfig } = await import('../src/images/archive.ts');
  const stack = await loadStack();
  // Unpack time and uncompressed size of each image (median of 5 fresh unpacks).
  for (const [name, file] of Object.entries(stack.images)) {
    const cfg = imageConfig(file);
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const dir = mkdtempSync(join(work, 'unpack-'));
      ms.push((await unpackImage(file, dir)).unpackMs);
      rmSync(dir, { recursive: true, force: true });
    }
    row(
      `unpack ${name} (${cfg.layerCount} layer, ${fmtMB(cfg.uncompressedBytes)} uncompressed; median of 5)`,
      `${med(ms).toFixed(1)} ms`,
      `compressed ${fmtMB(cfg.compressedBytes)}`,
      '-',
    );
  }
  await onOneRpi4Edge(stack, async (dep, reg) => {
    const modes = ['process', 'container-cold', 'container-warm'] as const;
    const got = {
      process: [] as number[],
      'container-cold': [] as number[],
      'container-warm': [] as number[],
    };
    const unpack: number[] = [];
    // interleaved, so machine drift hits every mode alike
    for (let i = 0; i < 20; i++) {
      for (const [k, mode] of modes.entries()) {
        const s = await measureStarts(dep, stack, mode, {
          samples: 1,
          registry: reg,
          portBase: 17100 + i * 3 + k,
        });
        got[mode].push(...s.ms);
        unpack.push(...s.unpackMs);
      }
    }
    const p = med(got.process);
    const c = med(got['container-cold']);
    const w = med(got['container-warm']);
    row(
      'start edge-agent as a process, rpi4 board cgroup (median of 20)',
      `${p.toFixed(1)} ms`,
      'spawn → 200',
      '1.00x',
    );
    row(
      'start edge-agent container, cold (median of 20)',
      `${c.toFixed(1)} ms`,
      `incl. unpack ${med(unpack).toFixed(1)} ms`,
      `${(c / p).toFixed(2)}x`,
    );
    row(
      'start edge-agent container, warm (median of 20)',
      `${w.toFixed(1)} ms`,
      `goal ≤ process + 30 ms = ${(p + 30).toFixed(1)} ms: ${w <= p + 30 ? 'met' : 'NOT met'}`,
      `${(w / p).toFixed(2)}x`,
    );
  });
  await pyEdgeStarts();
}

/** Deploy one rpi4 edge of `stack` on the local target, run `fn` on it, tear it down. */
async function onOneRpi4Edge(
  stack: import('../src/stack/manifest.ts').StackManifest,
  fn: (
    dep: import('../src/targets/local/deployment.ts').LocalDeployment,
    reg: import('../src/core/cleanup/registry.ts').CleanupRegistry,
  ) => Promise<void>,
): Promise<void> {
  const { CleanupRegistry, newRunId } = await import('../src/core/cleanup/registry.ts');
  const { LocalTarget } = await import('../src/targets/local/target.ts');
  const runId = newRunId('bench');
  await using reg = CleanupRegistry.open(runId);
  const runDir = mkdtempSync(join(work, 'run-'));
  const dep = await new LocalTarget().deploy(
    stack,
    { edges: [{ name: 'edge-1', profile: 'rpi4' }] },
    { runId, runDir, registry: reg },
  );
  try {
    await fn(dep, reg);
  } finally {
    await dep.teardown();
  }
}

/** The non-Go stack (stack/py-edge) from its image, same board: what an interpreter costs (5 samples each). */
async function pyEdgeStarts(): Promise<void> {
  const file = join(stackDir, 'py-edge', 'py-edge.stack.ts');
  const { loadStack } = await import('../src/stack/manifest.ts');
  let stack;
  try {
    stack = await loadStack(file);
  } catch (err) {
    row(
      'py-edge container start-up',
      'not measured',
      `build it: stack/py-edge/build.sh (${String(err)})`,
      '-',
    );
    return;
  }
  const { measureStarts, median: med } = await import('../src/targets/local/oci/startup.ts');
  const { imageConfig } = await import('../src/images/archive.ts');
  const cfg = imageConfig(stack.images['py-edge']!);
  await onOneRpi4Edge(stack, async (dep, reg) => {
    const cold = await measureStarts(dep, stack, 'container-cold', {
      samples: 5,
      registry: reg,
      portBase: 17300,
    });
    const warm = await measureStarts(dep, stack, 'container-warm', {
      samples: 5,
      registry: reg,
      portBase: 17310,
    });
    row(
      `start py-edge container, cold (median of 5; ${cfg.layerCount} layers, ${fmtMB(cfg.uncompressedBytes)} uncompressed)`,
      `${med(cold.ms).toFixed(1)} ms`,
      `incl. unpack ${med(cold.unpackMs).toFixed(1)} ms; compressed ${fmtMB(cfg.compressedBytes)}`,
      '-',
    );
    row(
      'start py-edge container, warm (median of 5)',
      `${med(warm.ms).toFixed(1)} ms`,
      'python3 + stdlib imports',
      '-',
    );
  });
}

function printTable(): void {
  // Table.
  const head: [string, string, string, string] = ['metric', 'value', 'reference', 'ratio'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  process.stdout.write(
    `\nedgechaos reference stack — ${new Date().toISOString()} — ${process.arch}, ${cpus().length} CPUs, ` +
      `load average ${loadavg()[0]!.toFixed(2)} at the end (figures are noisy on a busy machine), node ${process.version}\n`,
  );
  process.stdout.write(out.join('\n') + '\n');
}

(process.argv.includes('--containers') ? containerStarts().then(printTable) : main()).catch(
  (err: unknown) => {
    process.stderr.write(`bench/stack.ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
