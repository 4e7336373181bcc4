import { nodeOrThrow } from '../lookup.ts';
import { revertLastFirst } from '../../core/cleanup/revert-stack.ts';
import type { DataLayer, FaultSurface } from '../../../faults/capabilities.ts';
import { faultSurface } from '../surface.ts';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { mkdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { sweep } from '../../core/cleanup/sweep.ts';
import { deadline, sleep, waitFor } from '../../core/deadline.ts';
import { FaultRevertError, TargetError, UsageError } from '../../core/errors.ts';
import {
  carriesToken,
  killGroup,
  pidsWithToken,
  run,
  runningThreads,
  spawnManaged,
} from '../../core/proc.ts';
import type {
  Deployment,
  NodeInfo,
  NodeShell,
  NodeStats,
  ProcessExit,
  UplinkBytes,
  UplinkProxy,
} from '../types.ts';
import './reverters.ts';
import { runNodeContainer, signalContainer, signalsInit } from './oci/node.ts';
import { containerOomKills } from './oci/runtime.ts';
import { NetnsShell } from './shell.ts';
import type { LocalDeploymentState } from './state.ts';
import { timeNamespaceArgv, wrapInNode, type LocalNodeState } from './topology-plan.ts';

/** The parent pid of a process (0 once it is gone). */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

/** A killed process to wait for: still alive, or a zombie only this process can reap (its child). */
function unreaped(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return false;
  }
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return state !== 'Z' || Number(ppid) === process.pid;
}

/**
 * A running local deployment. The process that deployed it also sees its stack processes exit; any
 * other process can attach to it from its state file (processes are found by their cleanup token,
 * resources by name), so `inject` and `destroy` work from another command.
 */
export class LocalDeployment implements Deployment {
  /** The deployment as faults see it: its narrow capabilities. */
  faultSurface(): FaultSurface {
    return {
      ...faultSurface(this),
      data: { dataLayer: (n) => this.dataLayer(n), control: (n, words) => this.dataControl(n, words) },
      clock: { startSkewed: (n, secs, registry, signal) => this.startSkewed(n, secs, registry, signal) },
    };
  }

  readonly target = 'local';
  private readonly byName = new Map<string, LocalNodeState>();
  private readonly expected = new Map<string, number>();
  private readonly exitLog: ProcessExit[] = [];
  private readonly t0 = performance.now();
  private tornDown = false;

  constructor(
    readonly state: LocalDeploymentState,
    /** Reverts what the deployment created; attached deployments sweep the deployment's journal. */
    private readonly teardownFn?: () => Promise<void>,
  ) {
    for (const n of state.nodes) this.byName.set(n.name, n);
  }

  static attach(state: LocalDeploymentState): LocalDeployment {
    return new LocalDeployment(state);
  }

  get runId(): string {
    return this.state.runId;
  }
  get runDir(): string {
    return this.state.runDir;
  }
  get nodes(): readonly NodeInfo[] {
    return this.state.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      address: n.address,
      ...(n.limits ? { limits: n.limits } : {}),
      ...(n.profile ? { profile: n.profile } : {}),
    }));
  }
  get edges(): readonly { name: string; url: string; emulated?: string }[] {
    return this.state.nodes
      .filter((n) => n.role === 'edge')
      .map((n) => ({ name: n.name, url: n.url, ...(n.oci?.emulated ? { emulated: n.oci.emulated } : {}) }));
  }
  get hubUrl(): string {
    return this.local('cloud').url;
  }
  get clientAddresses(): readonly string[] {
    return [this.state.client];
  }

  /** The node's full local state; a clear error naming the node when it does not exist. */
  local(name: string): LocalNodeState {
    return nodeOrThrow(this.byName, name, this.runId);
  }

  node(name: string): NodeInfo {
    const n = this.local(name);
    return this.nodes.find((x) => x.name === n.name)!;
  }

  shell(node: string): NodeShell {
    return new NetnsShell(this.local(node), this.runDir);
  }

  uplinkProxy(node: string): UplinkProxy | undefined {
    const n = this.local(node);
    return n.proxy ? { api: this.state.toxiproxyApi, proxy: n.proxy.name } : undefined;
  }

  /** One command to the node's ec-fusefs layer over its control socket (its `ctl` protocol, no spawn). */
  dataControl(node: string, words: readonly string[]): Promise<string[]> {
    const socket = this.dataLayer(node)?.ctl.at(-1);
    if (!socket) throw new TargetError(`${node} has no data-dir fault layer`, { node });
    if (words.some((w) => /\s/.test(w)))
      throw new TargetError(`control words contain white space: ${words.join(' ')}`);
    return new Promise((resolve, reject) => {
      const c = createConnection(socket);
      let text = '';
      c.setTimeout(60_000, () => c.destroy(new Error(`control socket ${socket}: no answer in 60 s`)));
      c.on('connect', () => c.write(`${words.join(' ')}\n`));
      c.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        const lines = text.split('\n');
        const last = lines.findIndex((l) => l === 'end' || l.startsWith('fail '));
        if (last < 0) return;
        c.end();
        const l = lines[last]!;
        if (l === 'end') resolve(lines.slice(0, last));
        else reject(new TargetError(`${node}: ec-fusefs ${words.join(' ')}: ${l.slice(5)}`, { node }));
      });
      c.on('error', (e) =>
        reject(new TargetError(`${node}: control socket ${socket}: ${e.message}`, { node })),
      );
      c.on('close', () =>
        reject(new TargetError(`${node}: control socket ${socket}: answer ended early`, { node })),
      );
    });
  }

  dataLayer(node: string): DataLayer | undefined {
    return this.local(node).dataLayer;
  }

  uplinkDevice(node: string): string {
    this.local(node);
    return 'eth0';
  }

  private token(node: string): string {
    return `${this.state.stackToken}.${node}`;
  }

  stackPids(node: string): number[] {
    this.local(node);
    return pidsWithToken(this.token(node));
  }

  stackRunning(node: string): boolean {
    return this.stackPids(node).length > 0;
  }

  /**
   * Start the stack in a time namespace with its monotonic and boot clocks offset (clock-skew). The
   * handle, journaled first, SIGKILLs the node's processes in a skewed time namespace (cleanup too).
   */
  async startSkewed(
    node: string,
    offsetSecs: number,
    registry: CleanupRegistry,
    signal?: AbortSignal,
  ): Promise<CleanupHandle> {
    const n = this.local(node);
    const h = registry.add('timens-kill', `kill ${node}'s stack in its skewed time namespace`, {
      token: this.token(node),
      cgroupProcs: Object.values(n.cgroups).map((c) => `${c}/cgroup.procs`),
    });
    try {
      await this.startStack(node, signal, offsetSecs);
    } catch (err) {
      await h.revert();
      throw err;
    }
    return {
      ...h,
      revert: () => {
        this.expected.set(node, (this.expected.get(node) ?? 0) + (this.stackRunning(node) ? 1 : 0));
        return h.revert();
      },
    };
  }

  /** Start the stack if it is not running; `clockOffsetSecs` starts it in a skewed time namespace. */
  async startStack(node: string, signal?: AbortSignal, clockOffsetSecs?: number): Promise<void> {
    const n = this.local(node);
    if (this.stackRunning(node)) return;
    mkdirSync(n.dataDir, { recursive: true });
    mkdirSync(dirname(n.logFile), { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, ...n.env };
    const timens = clockOffsetSecs === undefined ? [] : timeNamespaceArgv(clockOffsetSecs);
    const argv = timens.length
      ? wrapInNode(Object.values(n.cgroups), n.netns, [...timens, ...n.command])
      : n.argv;
    const proc = n.oci
      ? await runNodeContainer(n.oci, n.dataDir, n.logFile, this.token(node), timens) // runtime oci
      : await spawnManaged(argv, {
          env,
          logFile: n.logFile,
          token: `${this.token(node)}.${randomBytes(3).toString('hex')}`,
        });
    proc.child.unref();
    void proc.exited.then((e) => {
      const exp = this.expected.get(node) ?? 0;
      if (exp > 0) this.expected.set(node, exp - 1);
      this.exitLog.push({
        node,
        at: performance.now() - this.t0,
        code: e.code,
        signal: e.signal,
        expected: exp > 0,
      });
    });
    await Promise.race([
      waitFor(
        async () =>
          (await fetch(n.healthUrl, { signal: AbortSignal.timeout(1000) })).status === 200 ? true : undefined,
        { signal: deadline(30_000, `${node} ${n.healthUrl} to answer 200`, signal), intervalMs: 20 },
      ),
      proc.exited.then((e) => {
        throw new TargetError(
          `${node}: stack ${n.oci ? `container (image ${n.oci.image})` : 'process'} exited (${e.code ?? e.signal}) before it was healthy: ${logTail(n.logFile)}; see ${n.logFile}`,
          {
            node,
          },
        );
      }),
    ]);
  }

  signalStack(node: string, sig: NodeJS.Signals): Promise<number> {
    const pids = this.stackPids(node);
    if (sig === 'SIGKILL' || sig === 'SIGTERM' || sig === 'SIGINT')
      this.expected.set(node, (this.expected.get(node) ?? 0) + 1);
    const oci = this.local(node).oci;
    if (oci && signalsInit(sig)) return signalContainer(oci, sig); // to the container's init, as docker stop
    let n = 0;
    for (const p of pids) if (killGroup(p, sig)) n++;
    return Promise.resolve(n);
  }

  async stopStack(node: string, opts: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
    if (!this.stackRunning(node)) return;
    await this.signalStack(node, opts.signal ?? 'SIGTERM');
    const until = performance.now() + (opts.graceMs ?? 3000);
    while (this.stackRunning(node) && performance.now() < until) await sleep(20);
    if (this.stackRunning(node)) {
      for (const p of this.stackPids(node)) killGroup(p, 'SIGKILL');
      const hard = performance.now() + 5000;
      while (this.stackRunning(node) && performance.now() < hard) await sleep(20);
      if (this.stackRunning(node)) throw new TargetError(`${node}: stack process survived SIGKILL`, { node });
    }
  }

  async restartStack(node: string, signal?: AbortSignal): Promise<void> {
    await this.stopStack(node);
    await this.startStack(node, signal);
  }

  async freeze(
    node: string,
    registry: CleanupRegistry,
    opts: { method?: 'freezer' | 'sigstop' } = {},
  ): Promise<CleanupHandle> {
    const path = this.local(node).cgroups.freezer;
    const pids = opts.method === 'sigstop' ? this.stackPids(node) : undefined;
    const handle = pids
      ? registry.add('sigstop', `SIGSTOP ${node}`, { pids })
      : registry.add('cgroup-freeze', `freeze ${node}`, { path });
    // Applied once nothing runs: the freezer passes through FREEZING, and kill(SIGSTOP) returns
    // before the threads stop (see runningThreads), so a request sent right after could be answered.
    const paused = pids
      ? () => pids.every((p) => runningThreads(p).length === 0)
      : async () => (await readFile(`${path}/freezer.state`, 'utf8')).trim() === 'FROZEN';
    try {
      if (pids) for (const p of pids) killGroup(p, 'SIGSTOP');
      else await writeFile(`${path}/freezer.state`, 'FROZEN');
      await waitFor(async () => ((await paused()) ? true : undefined), {
        signal: deadline(5000, `${node} to ${pids ? 'stop' : 'freeze'}`),
        intervalMs: 5,
      });
    } catch (err) {
      await handle.revert().catch(() => undefined);
      throw new TargetError(`${node}: pausing failed: ${err instanceof Error ? err.message : String(err)}`, {
        node,
        cause: err,
      });
    }
    return handle;
  }

  /**
   * The node's processes without a scan of every process: the members of its cgroups (containers
   * in sub-groups too) and their ancestors that carry the stack's token outside them (`runc run`).
   */
  async nodeProcs(node: string): Promise<{ pids: Set<number>; stack: boolean }> {
    const n = this.local(node);
    const token = this.token(node);
    const pids = new Set<number>();
    const walk = async (dir: string): Promise<void> => {
      const procs = await readFile(`${dir}/cgroup.procs`, 'utf8').catch(() => '');
      for (const p of procs.split('\n')) if (p) pids.add(Number(p));
      const subs = await readdir(dir, { withFileTypes: true }).catch(() => []);
      await Promise.all(subs.filter((d) => d.isDirectory()).map((d) => walk(join(dir, d.name))));
    };
    await Promise.all(Object.values(n.cgroups).map(walk));
    let stack = false;
    for (const p of [...pids]) {
      if (carriesToken(p, token)) stack = true;
      for (let a = parentOf(p); a > 1 && a !== process.pid && !pids.has(a) && carriesToken(a, token);) {
        pids.add(a);
        stack = true;
        a = parentOf(a);
      }
    }
    return { pids, stack };
  }

  async killAll(node: string): Promise<number> {
    const n = this.local(node);
    // toxiproxy lives in the cloud namespace but is not part of the node's stack: spare it.
    const spare = new Set<number>(this.state.toxiproxyPid ? [this.state.toxiproxyPid] : []);
    const freezer = `${n.cgroups.freezer}/freezer.state`;
    const killed = new Set<number>();
    // Freeze first, so nothing in the cgroup can fork between reading its members and killing them.
    await writeFile(freezer, 'FROZEN').catch(() => undefined);
    try {
      for (let round = 0; round < 3; round++) {
        const { pids, stack } = await this.nodeProcs(node);
        if (round === 0 && stack) this.expected.set(node, (this.expected.get(node) ?? 0) + 1);
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
    // Wait until each killed process is dead: a process this one started (the runtime's `runc run`)
    // stays a zombie until the event loop reaps it. A zombie of another parent is dead already (its
    // files closed): the container's init, orphaned by the kill, waits for PID 1 to reap it, which on
    // a sandbox init takes up to ~2 s and says nothing more.
    const reaped = performance.now() + 2000;
    while ([...killed].some(unreaped) && performance.now() < reaped) await sleep(5);
    return killed.size;
  }

  async stats(node: string): Promise<NodeStats> {
    const cg = this.local(node).cgroups;
    const num = async (file: string): Promise<number> => Number((await readFile(file, 'utf8')).trim());
    const kv = async (file: string): Promise<Record<string, number>> =>
      Object.fromEntries(
        (await readFile(file, 'utf8').catch(() => ''))
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const [k, v] = l.split(/\s+/);
            return [k ?? '', Number(v)];
          }),
      );
    const [peak, usage, limit, cpuNs, cpuStat, oom] = await Promise.all([
      num(`${cg.memory}/memory.max_usage_in_bytes`),
      num(`${cg.memory}/memory.usage_in_bytes`),
      num(`${cg.memory}/memory.limit_in_bytes`),
      num(`${cg.cpuacct}/cpuacct.usage`),
      kv(`${cg.cpu}/cpu.stat`),
      kv(`${cg.memory}/memory.oom_control`),
    ]);
    return {
      peakMemoryBytes: peak,
      memoryBytes: usage,
      // The kernel's "no limit" is a huge page-aligned number.
      memoryLimitBytes: limit >= 2 ** 60 ? undefined : limit,
      cpuSeconds: cpuNs / 1e9,
      throttledSeconds: (cpuStat['throttled_time'] ?? 0) / 1e9,
      nrThrottled: cpuStat['nr_throttled'] ?? 0,
      // containers: their OOM kills are counted in their own child memcg (src/targets/local/oci)
      oomKills: (oom['oom_kill'] ?? 0) + (this.local(node).oci ? containerOomKills(basename(cg.memory)) : 0),
    };
  }

  async uplinkBytes(node: string): Promise<UplinkBytes> {
    const n = this.local(node);
    if (n.role !== 'edge') throw new UsageError(`${node} has no uplink (only edges do)`, { node });
    const r = await run([
      'ip',
      'netns',
      'exec',
      n.netns,
      'nft',
      '-j',
      'list',
      'counters',
      'table',
      'inet',
      'ec_acct',
    ]);
    return parseAcctCounters(r.stdout);
  }

  exits(): readonly ProcessExit[] {
    return this.exitLog;
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    if (this.teardownFn) return this.teardownFn();
    const rep = await sweep({ runId: this.runId, force: true, dir: dirname(this.state.journal) });
    const failed = rep.runs.flatMap((r) => r.failed.map((f) => ({ what: f.what, error: f.error })));
    if (failed.length) throw new FaultRevertError(failed);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }
}

/** The last non-empty line of a log (the reason a stack gave up), shortened. */
function logTail(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim());
    return (lines.at(-1) ?? 'no output').slice(0, 300);
  } catch {
    return 'no log';
  }
}

/** Bytes from `nft -j list counters` of the accounting table (pure). */
export function parseAcctCounters(json: string): UplinkBytes {
  const doc = JSON.parse(json) as { nftables?: { counter?: { name: string; bytes: number } }[] };
  const out: UplinkBytes = { sent: 0, received: 0 };
  for (const item of doc.nftables ?? []) {
    if (item.counter?.name === 'up') out.sent = item.counter.bytes;
    if (item.counter?.name === 'down') out.received = item.counter.bytes;
  }
  return out;
}

/** Handles a deploy created, reverted last-first on teardown, every one attempted. */
export function revertHandles(handles: readonly CleanupHandle[]): Promise<void> {
  return revertLastFirst(handles);
}
