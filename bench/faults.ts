/**
 * Fault apply/revert latency on the local target: time from the call to the fault being observably in
 * effect (first dropped connection attempt / first delayed response), and from the revert call to the
 * first normal one. Probes run continuously: a tiny prober inside the edge namespace for the edge → cloud
 * partition, HTTP requests through the uplink proxy from the client side for toxics. The edge faults:
 * loss (the same prober at 100 %, and the achieved rate vs the requested one over 10k UDP packets
 * counted in the edge namespace), disk-full / io-error / io-latency (probe writes + fsyncs of new
 * files in the edge's data dir), clock-skew (the time-namespace offsets of the edge's processes, read
 * every ms from /proc/PID/timens_offsets; the first sample also reads the skewed boot clock through
 * nsenter), power-loss (the stack gone, the node healthy again). Every kind but power-loss goes
 * through one loop, timeApplyRevert: apply, hold, revert, hold, each sample observed by its probe.
 *
 *   npx tsx bench/faults.ts [--samples 20] [--power-loss-only | --clock-skew-only]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyFault } from '../faults/apply.ts';
import { CleanupRegistry } from '../src/core/cleanup/registry.ts';
import { sleep } from '../src/core/deadline.ts';
import { setLogLevel } from '../src/core/logger.ts';
import { run, TOKEN_ENV } from '../src/core/proc.ts';
import { loadStack } from '../src/stack/manifest.ts';
import type { LocalDeployment } from '../src/targets/local/deployment.ts';
import { LocalTarget } from '../src/targets/local/target.ts';
import { deliveredUdp } from '../test/helpers/loss-meter.ts';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '20' },
    'power-loss-only': { type: 'boolean', default: false },
    'clock-skew-only': { type: 'boolean', default: false },
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

/** Per sample: apply call, first sign of the fault, revert call, first sign it is gone (ms). */
interface Timings {
  apply: number[];
  effect: number[];
  revert: number[];
  healed: number[];
}

/**
 * How one fault kind is observed: `before` starts a sample's probe, `effect(t0)` / `healed(t1)` give the
 * epoch ms the probe first saw the fault in effect after the apply call at t0 / gone after the revert
 * call at t1 (undefined: never seen), `after` stops the probe. The fault stays on `holdMs`, and the
 * probe runs `holdMs` past the revert.
 */
interface Observation {
  holdMs: number;
  before?: () => Promise<void>;
  effect: (t0: number) => Promise<number | undefined>;
  healed?: (t1: number) => Promise<number | undefined>;
  after?: () => Promise<void>;
}

/** `samples` rounds of apply → hold → revert → hold on edge-1, timed by one observation. */
async function timeApplyRevert(
  dep: LocalDeployment,
  kind: string,
  params: Record<string, unknown>,
  o: Observation,
): Promise<Timings> {
  const t: Timings = { apply: [], effect: [], revert: [], healed: [] };
  for (let i = 0; i < samples; i++) {
    await o.before?.();
    const t0 = now();
    const f = await applyFault(dep, { kind, node: 'edge-1', params }, reg);
    t.apply.push(now() - t0);
    await sleep(o.holdMs);
    const e = await o.effect(t0);
    if (e !== undefined) t.effect.push(Math.max(0, e - t0));
    const t1 = now();
    await f.revert();
    t.revert.push(now() - t1);
    await sleep(o.holdMs);
    const h = await o.healed?.(t1);
    if (h !== undefined) t.healed.push(Math.max(0, h - t1));
    await o.after?.();
  }
  return t;
}

/** The four lines of a kind's timings; `effect` / `healed` name what the probe saw. */
function printTimings(title: string, t: Timings, effect: string, healed?: string): void {
  const or = (xs: number[]): string => (xs.length ? fmt(xs) : 'never observed');
  console.log(
    `${title}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}:`,
  );
  console.log(`  apply call returned      ${fmt(t.apply)}`);
  console.log(`  ${effect.padEnd(24)} ${or(t.effect)}   (target < 50 ms)`);
  console.log(`  revert call returned     ${fmt(t.revert)}`);
  if (healed) console.log(`  ${healed.padEnd(24)} ${or(t.healed)}`);
}

/**
 * Every process in a cgroup directory and its children (a container sits in <board>/ctr); a cgroup
 * removed while it is read (a container ending) has none.
 */
function procsUnder(dir: string): number[] {
  try {
    const own = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    const subs = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
    return [...own, ...subs.flatMap((d) => procsUnder(join(dir, d.name)))];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The boottime offset (s) of a process's time namespace; undefined once it is gone. */
function timeOffsetOf(pid: number): number | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/timens_offsets`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('boottime'));
    return Number(line?.trim().split(/\s+/)[1]);
  } catch {
    return undefined;
  }
}

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

  if (!values['power-loss-only'] && !values['clock-skew-only']) {
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
    const partition = await timeApplyRevert(
      dep,
      'partition',
      {},
      {
        holdMs: 30,
        effect: (t0) => waitState('down', t0),
        healed: (t1) => waitState('up', t1),
      },
    );
    prober.kill('SIGKILL');
    printTimings(
      'partition edge↔cloud (nft table in the edge namespace), observed by a TCP prober inside the edge',
      partition,
      'first dropped attempt',
      'first connect again',
    );

    // ---- toxics on the uplink proxy, observed by back-to-back requests from the client side
    const url = `http://${edge.proxy!.listen}/healthz`;
    const toxicBench = async (
      kind: string,
      params: Record<string, unknown>,
      isHit: (ms: number, status: number) => boolean,
    ): Promise<void> => {
      let stop = false;
      let probe: Promise<void> = Promise.resolve();
      const log: { t: number; ms: number; status: number }[] = [];
      const t = await timeApplyRevert(dep, kind, params, {
        holdMs: 300,
        before: async () => {
          stop = false;
          log.length = 0;
          probe = (async () => {
            while (!stop) {
              const t0 = now();
              let status = 0;
              try {
                const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
                await r.text();
                status = r.status;
              } catch {
                status = 0;
              }
              log.push({ t: t0, ms: now() - t0, status });
            }
          })();
          await sleep(20);
        },
        effect: (t0) => Promise.resolve(log.find((x) => x.t >= t0 - 5 && isHit(x.ms, x.status))?.t),
        healed: (t1) => Promise.resolve(log.find((x) => x.t >= t1 && !isHit(x.ms, x.status))?.t),
        after: async () => {
          stop = true;
          await probe;
        },
      });
      printTimings(
        `${kind} ${JSON.stringify(params)} (toxic on the edge's uplink proxy), observed by requests through the proxy`,
        t,
        'first affected request',
        'first normal request',
      );
    };
    await toxicBench('latency', { latency: '100ms' }, (ms) => ms >= 90);
    await toxicBench('reset-peer', {}, (_ms, status) => status !== 200);

    // ---- loss: 100 % is observed by the same prober as the partition; the achieved rate by counting
    const prober2 = startProber();
    await waitState('up', 0);
    const loss = await timeApplyRevert(
      dep,
      'loss',
      { percent: 100 },
      {
        holdMs: 30,
        effect: (t0) => waitState('down', t0),
        healed: (t1) => waitState('up', t1),
      },
    );
    prober2.kill('SIGKILL');
    printTimings(
      'loss 100% edge↔cloud (nft numgen table in the edge namespace), observed by the TCP prober',
      loss,
      'first dropped attempt',
      'first connect again',
    );

    const delivered = (count: number): Promise<number> => deliveredUdp(dep, 'edge-1', reg, count);
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
      const block = Buffer.alloc(4096, 1);
      let stop = false;
      let probe: Promise<void> = Promise.resolve();
      const log: { t: number; ms: number; err: string | undefined }[] = [];
      const t = await timeApplyRevert(dep, kind, params, {
        holdMs: 300,
        before: async () => {
          stop = false;
          log.length = 0;
          await mkdir(probeDir, { recursive: true });
          probe = (async () => {
            for (let n = 0; !stop; n++) {
              const t0 = now();
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
              log.push({ t: t0, ms: now() - t0, err });
            }
          })();
          await sleep(20);
        },
        effect: (t0) => Promise.resolve(log.find((x) => x.t >= t0 - 5 && isHit(x.ms, x.err))?.t),
        healed: (t1) => Promise.resolve(log.find((x) => x.t >= t1 && !isHit(x.ms, x.err))?.t),
        after: async () => {
          stop = true;
          await probe;
          await rm(probeDir, { recursive: true, force: true });
        },
      });
      printTimings(
        `${kind} ${JSON.stringify(params)} (ec-fusefs layer), observed by writes + fsyncs in the data dir`,
        t,
        'first affected write',
        'first normal write',
      );
    };
    await ioBench('disk-full', {}, (_ms, err) => err === 'ENOSPC');
    await ioBench('io-error', { op: 'fsync' }, (_ms, err) => err === 'EIO');
    await ioBench('io-latency', { op: 'fsync', delay: '100ms' }, (ms) => ms >= 95);
  }

  if (!values['power-loss-only']) {
    // ---- clock-skew: the stack restarted in a time namespace with its clocks offset. A poller reads
    // the time-namespace offsets of every process in the edge's cgroups (/proc/PID/timens_offsets,
    // no process spawned) every ms: in effect = the first stack process seen skewed by the asked
    // amount; gone = the first time after the revert call that the edge has processes and none skewed.
    // The first sample also reads CLOCK_BOOTTIME through the skewed namespace (nsenter --time).
    const skewSecs = 300;
    let polling = false;
    let poller: Promise<void> = Promise.resolve();
    let skewedAt: number | undefined;
    let plainAt: number | undefined;
    let clockChecked = false;
    const skew = await timeApplyRevert(
      dep,
      'clock-skew',
      { offset: `+${skewSecs}s` },
      {
        holdMs: 30,
        before: () => {
          polling = true;
          skewedAt = plainAt = undefined;
          poller = (async () => {
            while (polling) {
              const t = now();
              const offs = procsUnder(edge.cgroups.memory).map(timeOffsetOf);
              const skewed = offs.filter((o) => o !== undefined && o !== 0);
              if (skewedAt === undefined && skewed.includes(skewSecs)) skewedAt = t;
              if (skewedAt !== undefined && plainAt === undefined && offs.length && skewed.length === 0)
                plainAt = t;
              await sleep(1);
            }
          })();
          poller.catch(() => undefined); // handled here, rethrown by `after`
          return Promise.resolve();
        },
        effect: async () => {
          if (!clockChecked) {
            clockChecked = true;
            const pid = procsUnder(edge.cgroups.memory).find((p) => timeOffsetOf(p) === skewSecs);
            const r = await run(['nsenter', '--target', String(pid), '--time', 'cat', '/proc/uptime']);
            const d =
              Number(r.stdout.split(' ')[0]) - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
            if (Math.abs(d - skewSecs) > 2)
              throw new Error(`clock-skew: the stack's boot clock is ${d} s ahead, asked ${skewSecs}`);
          }
          return skewedAt;
        },
        healed: () => Promise.resolve(plainAt),
        after: async () => {
          polling = false;
          await poller;
        },
      },
    );
    printTimings(
      `clock-skew +${skewSecs}s (stack restarted in a time namespace), observed by the offsets of the edge's processes`,
      skew,
      'first skewed process',
      'none skewed again',
    );
    console.log(
      '  (the apply call returns once the skewed stack answers /healthz; the revert once the unskewed one does)',
    );
  }

  if (!values['clock-skew-only']) {
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
  }
  await dep.teardown();
} finally {
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
}
