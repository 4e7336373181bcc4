/**
 * Fault apply/revert latency on the local target: time from the call to the fault being observably in
 * effect (first dropped connection attempt / first delayed response), and from the revert call to the
 * first normal one. Probes run continuously: a tiny prober inside the edge namespace for the edge → cloud
 * partition, HTTP requests through the uplink proxy from the client side for toxics. The edge faults:
 * loss (the same prober at 100 %, and the achieved rate vs the requested one over 10k UDP packets
 * counted in the edge namespace), disk-full / io-error / io-latency (probe writes + fsyncs of new
 * files in the edge's data dir), power-loss (the stack gone, the node healthy again).
 *
 *   npx tsx bench/faults.ts [--samples 20] [--power-loss-only]
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyFault } from '../faults/apply.ts';
import { CleanupRegistry } from '../src/core/cleanup/registry.ts';
import { sleep } from '../src/core/deadline.ts';
import { setLogLevel } from '../src/core/logger.ts';
import { TOKEN_ENV } from '../src/core/proc.ts';
import { loadStack } from '../src/stack/manifest.ts';
import type { LocalDeployment } from '../src/targets/local/deployment.ts';
import { LocalTarget } from '../src/targets/local/target.ts';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '20' },
    'power-loss-only': { type: 'boolean', default: false },
  },
});
const samples = Number(values.samples);
setLogLevel('warn');
const now = (): number => performance.timeOrigin + performance.now();
const dir = mkdtempSync(join(tmpdir(), 'edgechaos-bench-faults-'));
process.env['EDGECHAOS_STATE_DIR'] = join(dir, 'state');
const runId = `bf${process.pid}`;
const reg = CleanupRegistry.open(runId);

const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(1)} ms, p90 ${q(0.9).toFixed(1)}, max ${s.at(-1)!.toFixed(1)}`;
};

/** Prober in a namespace: TCP connects to host:port every ms; prints "<state> <epoch ms of the attempt>" on change. */
const proberScript = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
let last = '';
const now = () => performance.timeOrigin + performance.now();
function attempt() {
  const t = now();
  const s = net.connect({ host, port: Number(port) });
  let done = false;
  const finish = (state) => {
    if (done) return; done = true; s.destroy();
    if (state !== last) { last = state; process.stdout.write(state + ' ' + t.toFixed(2) + '\\n'); }
    setTimeout(attempt, 1);
  };
  s.setTimeout(8, () => finish('down'));
  s.once('connect', () => finish('up'));
  s.once('error', () => finish('down'));
}
attempt();`;

/**
 * The kill of every process of a node as it was before it read the node's cgroups only: a scan of
 * every process's environ for the stack's token per round (and before and after), and of every
 * process's net namespace. Kept here as the side-by-side reference of the power-loss benchmark.
 */
async function killAllByScan(dep: LocalDeployment, node: string): Promise<number> {
  const n = dep.local(node);
  dep.stackRunning(node);
  const spare = new Set<number>(dep.state.toxiproxyPid ? [dep.state.toxiproxyPid] : []);
  const freezer = `${n.cgroups.freezer}/freezer.state`;
  const killed = new Set<number>();
  await writeFile(freezer, 'FROZEN').catch(() => undefined);
  try {
    for (let round = 0; round < 3; round++) {
      const pids = new Set<number>(dep.stackPids(node));
      for (const c of Object.values(n.cgroups)) {
        const procs = await readFile(`${c}/cgroup.procs`, 'utf8').catch(() => '');
        for (const p of procs.split('\n').filter(Boolean)) pids.add(Number(p));
      }
      const want = `net:[${statSync(`/run/netns/${n.netns}`).ino}]`;
      for (const d of readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
          if (readlinkSync(`/proc/${d}/ns/net`) === want) pids.add(Number(d));
        } catch {
          /* gone */
        }
      }
      for (const p of [...spare, ...killed]) pids.delete(p);
      if (pids.size === 0) break;
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
          killed.add(p);
        } catch {
          /* already gone */
        }
      }
    }
  } finally {
    await writeFile(freezer, 'THAWED').catch(() => undefined);
  }
  const until = performance.now() + 5000;
  while (dep.stackRunning(node) && performance.now() < until) await sleep(20);
  return killed.size;
}

try {
  const dep = await new LocalTarget().deploy(
    await loadStack(),
    { edges: [{ name: 'edge-1', profile: 'x86-edge' }] },
    { runId, runDir: join(dir, 'run'), registry: reg },
  );
  const edge = dep.local('edge-1');
  const [phost, pport] = edge.proxy!.listen.split(':') as [string, string];

  if (!values['power-loss-only']) {
    // ---- partition edge ↔ cloud, observed from inside the edge namespace
    const token = `${runId}.prober`;
    reg.add('process', 'prober', { token });
    const events: { state: string; t: number }[] = [];
    /** The TCP prober in the edge namespace; its state changes land in `events` (cleared). */
    const startProber = (): ReturnType<typeof spawn> => {
      events.length = 0;
      const p = spawn(
        'ip',
        ['netns', 'exec', edge.netns, process.execPath, '-e', proberScript, phost, pport],
        {
          env: { ...process.env, [TOKEN_ENV]: token },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let buf = '';
      p.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const [state, t] = buf.slice(0, i).split(' ');
          buf = buf.slice(i + 1);
          events.push({ state: state!, t: Number(t) });
        }
      });
      return p;
    };
    const prober = startProber();
    const waitState = async (state: string, after: number): Promise<number> => {
      for (let i = 0; i < 2000; i++) {
        const e = events.find((x) => x.state === state && x.t >= after - 10);
        if (e) return e.t;
        await sleep(2);
      }
      throw new Error(`prober never saw ${state}`);
    };
    await waitState('up', 0);
    const pApply: number[] = [];
    const pEffect: number[] = [];
    const pRevert: number[] = [];
    const pHealed: number[] = [];
    for (let i = 0; i < samples; i++) {
      const t0 = now();
      const f = await applyFault(dep, { kind: 'partition', node: 'edge-1', params: {} }, reg);
      pApply.push(now() - t0);
      pEffect.push((await waitState('down', t0)) - t0);
      await sleep(30);
      const t1 = now();
      await f.revert();
      pRevert.push(now() - t1);
      pHealed.push((await waitState('up', t1)) - t1);
      await sleep(30);
    }
    prober.kill('SIGKILL');
    console.log(
      'partition edge↔cloud (nft table in the edge namespace), observed by a TCP prober inside the edge:',
    );
    console.log(`  apply call returned      ${fmt(pApply)}`);
    console.log(`  first dropped attempt    ${fmt(pEffect)}   (target < 50 ms)`);
    console.log(`  revert call returned     ${fmt(pRevert)}`);
    console.log(`  first connect again      ${fmt(pHealed)}`);

    // ---- toxics on the uplink proxy, observed by back-to-back requests from the client side
    const url = `http://${edge.proxy!.listen}/healthz`;
    const toxicBench = async (
      kind: string,
      params: Record<string, unknown>,
      isHit: (ms: number, status: number) => boolean,
    ): Promise<void> => {
      const apply: number[] = [];
      const effect: number[] = [];
      const revert: number[] = [];
      const healed: number[] = [];
      for (let i = 0; i < samples; i++) {
        let stop = false;
        const log: { t: number; ms: number; status: number }[] = [];
        const probe = (async () => {
          while (!stop) {
            const t = now();
            let status = 0;
            try {
              const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
              await r.text();
              status = r.status;
            } catch {
              status = 0;
            }
            log.push({ t, ms: now() - t, status });
          }
        })();
        await sleep(20);
        const t0 = now();
        const f = await applyFault(dep, { kind, node: 'edge-1', params }, reg);
        apply.push(now() - t0);
        await sleep(300);
        const t1 = now();
        await f.revert();
        revert.push(now() - t1);
        await sleep(300);
        stop = true;
        await probe;
        const hit = log.find((x) => x.t >= t0 - 5 && isHit(x.ms, x.status));
        if (hit) effect.push(Math.max(0, hit.t - t0));
        const ok = log.find((x) => x.t >= t1 && !isHit(x.ms, x.status));
        if (ok) healed.push(Math.max(0, ok.t - t1));
      }
      console.log(
        `${kind} ${JSON.stringify(params)} (toxic on the edge's uplink proxy), observed by requests through the proxy:`,
      );
      console.log(`  apply call returned      ${fmt(apply)}`);
      console.log(
        `  first affected request   ${effect.length ? fmt(effect) : 'never observed'} (sent at; target < 50 ms)`,
      );
      console.log(`  revert call returned     ${fmt(revert)}`);
      console.log(`  first normal request     ${healed.length ? fmt(healed) : 'never observed'}`);
    };
    await toxicBench('latency', { latency: '100ms' }, (ms) => ms >= 90);
    await toxicBench('reset-peer', {}, (_ms, status) => status !== 200);

    // ---- loss: 100 % is observed by the same prober as the partition; the achieved rate by counting
    const lApply: number[] = [];
    const lEffect: number[] = [];
    const prober2 = startProber();
    await waitState('up', 0);
    for (let i = 0; i < samples; i++) {
      const t0 = now();
      const f = await applyFault(dep, { kind: 'loss', node: 'edge-1', params: { percent: 100 } }, reg);
      lApply.push(now() - t0);
      lEffect.push((await waitState('down', t0)) - t0);
      await sleep(30);
      const t1 = now();
      await f.revert();
      await waitState('up', t1);
      await sleep(30);
    }
    prober2.kill('SIGKILL');
    console.log('loss 100% edge↔cloud (nft numgen table in the edge namespace), observed by the TCP prober:');
    console.log(`  apply call returned      ${fmt(lApply)}`);
    console.log(`  first dropped attempt    ${fmt(lEffect)}   (target < 50 ms)`);

    const delivered = async (count: number): Promise<number> => {
      const sh = dep.shell('edge-1');
      const table = 'ec_bench_meas';
      const u = sh.undoEntry(['nft', 'delete', 'table', 'inet', table]);
      const h = reg.add(u.kind, 'loss measurement counter', u.data);
      await sh.exec(['nft', '-f', '-'], {
        input: `table inet ${table} {\n counter rx { }\n chain in { type filter hook input priority 10; policy accept; ip saddr ${dep.state.client} udp dport 9 counter name "rx"; }\n}\n`,
      });
      try {
        const sock = createSocket('udp4');
        const payload = Buffer.alloc(32);
        for (let i = 0; i < count; i++) {
          await new Promise<void>((res, rej) =>
            sock.send(payload, 9, edge.address, (e) => (e ? rej(e) : res())),
          );
          if (i % 50 === 49) await sleep(1);
        }
        sock.close();
        await sleep(200);
        const r = await sh.exec(['nft', '-j', 'list', 'counter', 'inet', table, 'rx']);
        const doc = JSON.parse(r.stdout) as { nftables: { counter?: { packets: number } }[] };
        return doc.nftables.find((x) => x.counter)!.counter!.packets;
      } finally {
        await h.revert();
      }
    };
    console.log(
      'loss rate achieved vs requested (10k UDP packets client → edge, counted after the loss chain):',
    );
    console.log(
      `  baseline (no fault)      ${((1 - (await delivered(10_000)) / 10_000) * 100).toFixed(2)} % lost`,
    );
    for (const pct of [1, 5, 10, 20, 50]) {
      const f = await applyFault(
        dep,
        { kind: 'loss', node: 'edge-1', params: { percent: pct, between: 'client-edge', direction: 'in' } },
        reg,
      );
      const got = await delivered(10_000).finally(() => f.revert());
      const lost = (1 - got / 10_000) * 100;
      console.log(
        `  requested ${String(pct).padStart(3)} %         achieved ${lost.toFixed(2)} %  (${(lost - pct).toFixed(2)} points; target ±2)`,
      );
    }

    // ---- data-dir faults, observed by probe writes + fsyncs through the edge's data dir. Each probe
    // writes a new file, kept until the sample ends: a probe that truncated or deleted its own file
    // would hand its blocks back to a full disk and hide the fault.
    const probeDir = join(edge.dataDir, 'bench-probe');
    const ioBench = async (
      kind: string,
      params: Record<string, unknown>,
      isHit: (ms: number, err: string | undefined) => boolean,
    ): Promise<void> => {
      const apply: number[] = [];
      const effect: number[] = [];
      const revert: number[] = [];
      const healed: number[] = [];
      const block = Buffer.alloc(4096, 1);
      for (let i = 0; i < samples; i++) {
        let stop = false;
        const log: { t: number; ms: number; err: string | undefined }[] = [];
        await mkdir(probeDir, { recursive: true });
        const probe = (async () => {
          for (let n = 0; !stop; n++) {
            const t = now();
            let err: string | undefined;
            try {
              const fh = await open(join(probeDir, String(n)), 'wx');
              try {
                await fh.write(block);
                await fh.sync();
              } finally {
                await fh.close();
              }
            } catch (e) {
              err = (e as NodeJS.ErrnoException).code ?? String(e);
            }
            log.push({ t, ms: now() - t, err });
          }
        })();
        await sleep(20);
        const t0 = now();
        const f = await applyFault(dep, { kind, node: 'edge-1', params }, reg);
        apply.push(now() - t0);
        await sleep(300);
        const t1 = now();
        await f.revert();
        revert.push(now() - t1);
        await sleep(300);
        stop = true;
        await probe;
        await rm(probeDir, { recursive: true, force: true });
        const hit = log.find((x) => x.t >= t0 - 5 && isHit(x.ms, x.err));
        if (hit) effect.push(Math.max(0, hit.t - t0));
        const ok = log.find((x) => x.t >= t1 && !isHit(x.ms, x.err));
        if (ok) healed.push(Math.max(0, ok.t - t1));
      }
      console.log(
        `${kind} ${JSON.stringify(params)} (ec-fusefs layer), observed by writes + fsyncs in the data dir:`,
      );
      console.log(`  apply call returned      ${fmt(apply)}`);
      console.log(
        `  first affected write     ${effect.length ? fmt(effect) : 'never observed'} (started at; target < 50 ms)`,
      );
      console.log(`  revert call returned     ${fmt(revert)}`);
      console.log(`  first normal write       ${healed.length ? fmt(healed) : 'never observed'}`);
    };
    await ioBench('disk-full', {}, (_ms, err) => err === 'ENOSPC');
    await ioBench('io-error', { op: 'fsync' }, (_ms, err) => err === 'EIO');
    await ioBench('io-latency', { op: 'fsync', delay: '100ms' }, (ms) => ms >= 95);
  }

  // ---- power-loss: the stack is gone when apply returns; then the node boots. Side by side, in
  // turns: as it is (the kill reads the node's cgroup members, the drop talks to the layer's control
  // socket) and as it was (scans of every process's environ and net namespace, reimplemented above as
  // the reference, and an `ec-fusefs ctl` process spawned in the node for the drop).
  const surface = dep.faultSurface();
  const byScan = {
    ...surface,
    stack: { ...surface.stack!, killAll: (n: string) => killAllByScan(dep, n) },
    data: {
      ...surface.data!,
      // as it was: `ec-fusefs ctl <socket> …` spawned in the node
      control: async (n: string, words: readonly string[]) =>
        (await dep.shell(n).exec([...dep.dataLayer(n)!.ctl, ...words])).stdout.split('\n'),
    },
  };
  const pw = {
    cgroup: { apply: [] as number[], boot: [] as number[] },
    scan: { apply: [] as number[], boot: [] as number[] },
  };
  for (let i = 0; i < Math.min(samples, 10); i++) {
    for (const way of ['scan', 'cgroup'] as const) {
      const before = dep.stackPids('edge-1');
      const t0 = now();
      const f = await applyFault(
        way === 'scan' ? byScan : dep,
        { kind: 'power-loss', node: 'edge-1', params: { downFor: 0 } },
        reg,
      );
      pw[way].apply.push(now() - t0);
      if (before.some((p) => dep.stackPids('edge-1').includes(p)))
        throw new Error(`power-loss (${way}) left the stack running`);
      for (let j = 0; j < 1000; j++) {
        const ok = await fetch(`${edge.url}/healthz`, { signal: AbortSignal.timeout(200) }).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        await sleep(5);
      }
      pw[way].boot.push(now() - t0);
      await f.revert();
    }
  }
  console.log(
    `power-loss (kill-all + drop un-synced writes in ec-fusefs, boot after 0 ms), load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}:`,
  );
  for (const way of ['scan', 'cgroup'] as const) {
    console.log(
      `  ${way === 'scan' ? 'as it was (/proc scans + ctl process)' : 'as it is (cgroup.procs + ctl socket)'}: apply call returned ${fmt(pw[way].apply)}   (every process dead, un-synced writes dropped; target < 50 ms)`,
    );
    console.log(`  ${' '.repeat(37)} node healthy again  ${fmt(pw[way].boot)}`);
  }
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `  ratio of medians (cgroup / scan): ${(med(pw.cgroup.apply) / med(pw.scan.apply)).toFixed(2)}`,
  );
  await dep.teardown();
} finally {
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
}
