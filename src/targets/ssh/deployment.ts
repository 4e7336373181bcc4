import { nodeOrThrow } from '../lookup.ts';
import type { FaultSurface } from '../../../faults/capabilities.ts';
import { faultSurface } from '../surface.ts';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { deadline, sleep, waitFor } from '../../core/deadline.ts';
import { TargetError, UsageError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { parseAcctCounters, revertHandles } from '../local/deployment.ts';
import { timeNamespaceArgv } from '../local/topology-plan.ts';
import type {
  Deployment,
  NodeInfo,
  NodeShell,
  NodeStats,
  ProcessExit,
  UplinkBytes,
  UplinkProxy,
} from '../types.ts';
import type { SshBoard } from './board.ts';
import {
  freezeScript,
  killAllScript,
  stackClockScript,
  statsScript,
  timensKillScript,
} from './board-scripts.ts';
import { toHarnessMs } from './clock.ts';
import { boardDataControl } from './data-layer.ts';
import { statFiles } from './layout.ts';
import { SshShell } from './shell.ts';
import type { NodeRuntime, SshOci } from './oci.ts';
import { decodeStatus, parseCgroupStats, parseDump, parseExits } from './stats.ts';

const log = logger('ssh');

/** How each node's stack process is started (argv/env on its board) and checked (URL from the harness). */
export interface SshStackSpec {
  argv: string[];
  healthUrl: string;
  url: string;
  /** The stack runs as this container (`--runtime oci` on a board with runc): signals go through runc. */
  oci?: SshOci;
  /** Container or process, and why (a board without runc falls back to the process). */
  runtime?: NodeRuntime;
}

export const acctTable = 'ec_acct';

/**
 * A deployment on boards over SSH. Stack processes run under ec-supervise on each board; their exits
 * are read back (board clock, corrected by the measured offset); every safety timer on the boards is
 * renewed by a heartbeat every TTL/3 while this object lives.
 */
export class SshDeployment implements Deployment {
  /** The deployment as faults see it: its narrow capabilities. */
  faultSurface(): FaultSurface {
    // clock-skew only where every board that runs a stack has time namespaces: without them it is
    // refused by name before anything changes (no stack killed for nothing).
    const timens = [...this.boards.values()].every((b) => !this.stacks.has(b.node) || b.facts.timens);
    // data: per edge board that has its layer (a board without one refuses the disk faults by name)
    const data = [...this.boards.values()].some((b) => b.dataLayer);
    return {
      ...faultSurface(this),
      ...(data
        ? {
            data: {
              dataLayer: (n: string) => this.boards.get(n)?.dataLayer,
              control: (n: string, words: readonly string[]) => boardDataControl(this.board(n), words),
            },
          }
        : {}),
      ...(timens
        ? {
            clock: {
              startSkewed: (n, secs, registry, signal) => this.startSkewed(n, secs, registry, signal),
            },
          }
        : {}),
    };
  }

  readonly target = 'ssh';
  private readonly exitLog: ProcessExit[] = [];
  private readonly expected = new Map<string, number>();
  private readonly starts = new Map<string, number>();
  private readonly seenExits = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly t0Epoch = performance.timeOrigin + performance.now();
  private tornDown = false;
  /** Handles created by deploy (reverted last-first on teardown). */
  readonly handles: CleanupHandle[] = [];

  constructor(
    readonly runId: string,
    readonly runDir: string,
    readonly boards: ReadonlyMap<string, SshBoard>,
    readonly stacks: ReadonlyMap<string, SshStackSpec>,
    readonly clientAddresses: readonly string[],
    readonly toxiproxy: { api: string; proxies: Map<string, string> } | undefined,
  ) {}

  board(name: string): SshBoard {
    return nodeOrThrow(this.boards, name, this.runId);
  }

  get nodes(): readonly NodeInfo[] {
    return [...this.boards.values()].map((b) => ({
      name: b.node,
      role: b.host.role,
      address: b.host.netAddress,
    }));
  }
  get edges(): readonly { name: string; url: string }[] {
    return [...this.boards.values()]
      .filter((b) => b.host.role === 'edge')
      .map((b) => ({ name: b.node, url: this.stack(b.node).url }));
  }
  /** How each node's stack runs (container or process) and why, as deploy decided it. */
  runtimes(): Record<string, NodeRuntime> {
    return Object.fromEntries(
      [...this.stacks].flatMap(([n, s]) => (s.runtime ? [[n, s.runtime] as const] : [])),
    );
  }
  get hubUrl(): string {
    return this.stack('cloud').url;
  }

  private stack(node: string): SshStackSpec {
    const s = this.stacks.get(node);
    if (!s) throw new UsageError(`no stack process on ${node}`, { node });
    return s;
  }

  node(name: string): NodeInfo {
    this.board(name);
    return this.nodes.find((n) => n.name === name)!;
  }
  shell(node: string): NodeShell {
    return new SshShell(this.board(node));
  }
  uplinkProxy(node: string): UplinkProxy | undefined {
    const p = this.toxiproxy?.proxies.get(node);
    return p && this.toxiproxy ? { api: this.toxiproxy.api, proxy: p } : undefined;
  }
  uplinkDevice(node: string): string {
    return this.board(node).uplinkDev;
  }

  /** Start the heartbeat (safety timers) and the exit reader. */
  startBackground(): void {
    const ttl = [...this.boards.values()][0]?.ctx.safetyTtlMs ?? 10_000;
    this.timers.push(
      setInterval(
        () => {
          for (const b of this.boards.values())
            b.heartbeat().catch((e: unknown) =>
              log.debug(`${b.node}: heartbeat failed: ${e instanceof Error ? e.message : String(e)}`),
            );
        },
        Math.max(300, Math.floor(ttl / 3)),
      ),
      setInterval(() => void this.pollExits().catch(() => undefined), 1000),
    );
    for (const t of this.timers) t.unref();
  }

  /** Stop renewing the boards' safety timers (as a harness that lost its link would). */
  stopHeartbeat(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }

  /** Read the boards' exit records; new ones become ProcessExit events in harness time. */
  async pollExits(): Promise<void> {
    await Promise.all(
      [...this.boards.values()].map(async (b) => {
        const r = await b.conn.exec(
          [
            'sh',
            '-c',
            'for f in "$1"/*.exits; do [ -f "$f" ] && echo "== $f" && cat "$f"; done; exit 0',
            'ec-exits',
            b.layout.run,
          ],
          { timeoutMs: 5000 },
        );
        const exits = parseExits(parseDump(r.stdout)).get(b.node) ?? [];
        const seen = this.seenExits.get(b.node) ?? 0;
        for (const e of exits.slice(seen)) {
          const exp = this.expected.get(b.node) ?? 0;
          if (exp > 0) this.expected.set(b.node, exp - 1);
          this.exitLog.push({
            node: b.node,
            at: Math.round(toHarnessMs(e.boardMs, b.offset) - this.t0Epoch),
            ...decodeStatus(e.status),
            expected: exp > 0,
          });
        }
        this.seenExits.set(b.node, Math.max(seen, exits.length));
      }),
    );
  }

  /**
   * After attaching to a deployment another process made: exits recorded so far are history (not
   * events of this process), and a stack counts as running when its pid file is there.
   */
  async resumeFromBoards(): Promise<void> {
    await this.pollExits();
    this.exitLog.length = 0;
    this.expected.clear();
    for (const b of this.boards.values()) {
      if (!this.stacks.has(b.node)) continue;
      const r = await b.conn.exec(['test', '-f', this.pidFile(b.node)], { allowFailure: true });
      this.starts.set(b.node, (this.seenExits.get(b.node) ?? 0) + (r.code === 0 ? 1 : 0));
    }
  }

  stackRunning(node: string): boolean {
    this.board(node);
    return (this.starts.get(node) ?? 0) > (this.seenExits.get(node) ?? 0);
  }

  private pidFile(node: string): string {
    return `${this.board(node).layout.run}/${node}.pid`;
  }

  /**
   * Start the stack if it is not running; `clockOffsetSecs` starts it in a new time namespace with its
   * monotonic and boot clocks offset (util-linux `unshare --time` on the board, which then execs it).
   */
  async startStack(node: string, signal?: AbortSignal, clockOffsetSecs?: number): Promise<void> {
    const b = this.board(node);
    const s = this.stack(node);
    // a container stopped by a kill keeps its id until deleted; one still supervised (its pid file
    // there) is running and left alone, as a running process is (`delete -f` would kill it)
    if (s.oci)
      await b.conn.exec(
        [
          'sh',
          '-c',
          '[ -f "$1" ] || runc --root "$2" delete -f "$3" 2>/dev/null; exit 0',
          'ec-ctr-stale',
          this.pidFile(node),
          s.oci.root,
          s.oci.id,
        ],
        { allowFailure: true },
      );
    // `runc run` under `unshare --time`: the container inherits the time namespace
    const argv = clockOffsetSecs === undefined ? s.argv : [...timeNamespaceArgv(clockOffsetSecs), ...s.argv];
    const pid = await b.startSupervised(node, argv, { inGroup: true, logName: node });
    if (pid > 0) this.starts.set(node, (this.starts.get(node) ?? 0) + 1);
    let probes = 0;
    try {
      await waitFor(
        async () => {
          // Every ~0.5 s: a process that already exited (bad binary, port taken) fails fast.
          if (++probes % 20 === 0) {
            const r = await b.conn.exec(['test', '-f', this.pidFile(node)], { allowFailure: true });
            if (r.code === 1) return 'exited' as const;
          }
          const ok = await fetch(s.healthUrl, { signal: AbortSignal.timeout(1000) })
            .then((res) => res.status === 200)
            .catch(() => false);
          return ok ? ('healthy' as const) : undefined;
        },
        { signal: deadline(30_000, `${node} ${s.healthUrl} to answer 200`, signal), intervalMs: 25 },
      ).then((v) => {
        if (v === 'exited') throw new TargetError(`the stack process exited before it was healthy`, { node });
      });
    } catch (err) {
      const tail = await b.conn
        .exec(['tail', '-n', '5', `${b.layout.logs}/${node}.log`], { allowFailure: true })
        .catch(() => undefined);
      throw new TargetError(
        `${node}: stack not healthy at ${s.healthUrl}: ${err instanceof Error ? err.message : String(err)}${tail?.stdout ? ` — log: ${tail.stdout.trim().split('\n').join(' | ')}` : ''}`,
        { node, cause: err },
      );
    }
  }

  /**
   * clock-skew: start the stack in a skewed time namespace. The undo (kill the node's processes whose
   * time namespace has an offset) is journaled first, then armed on the board (its safety timer runs
   * it when the heartbeat stops), then the stack starts. Reverting waits until the supervisor has seen
   * the skewed stack exit, so the unskewed start that follows does not race it.
   */
  async startSkewed(
    node: string,
    offsetSecs: number,
    registry: CleanupRegistry,
    signal?: AbortSignal,
  ): Promise<CleanupHandle> {
    const b = this.board(node);
    if (!b.facts.timens)
      throw new TargetError(
        `${node}: no time namespaces on the board (kernel ${b.facts.kernel}; clock-skew needs CONFIG_TIME_NS and util-linux unshare >= 2.36)`,
        { node },
      );
    const undo = ['sh', '-c', timensKillScript, 'ec-timens-kill', ...this.stackCgroups(node)];
    const lease = `${b.layout.leases}/skew-${randomBytes(4).toString('hex')}.lease`;
    const h = registry.add(
      'ssh-exec',
      `kill ${node}'s stack in its skewed time namespace`,
      b.undoData(undo, lease),
    );
    try {
      await b.arm(lease, undo);
      await this.startStack(node, signal, offsetSecs);
    } catch (err) {
      await h.revert().catch(() => undefined);
      throw err;
    }
    const revert = async (): Promise<void> => {
      if (this.stackRunning(node)) this.expected.set(node, (this.expected.get(node) ?? 0) + 1);
      await h.revert();
      await this.waitUnskewed(node);
    };
    return { ...h, revert, [Symbol.asyncDispose]: revert };
  }

  /** Until the node's stack is stopped (its supervisor done) or runs unskewed; then its exits are read. */
  private async waitUnskewed(node: string): Promise<void> {
    const b = this.board(node);
    let last = '';
    for (const until = performance.now() + 5000; performance.now() < until; await sleep(20)) {
      last = (
        await b.conn.exec(['sh', '-c', stackClockScript, 'ec-stack-clock', this.pidFile(node)])
      ).stdout.trim();
      if (last === 'none' || last === 'plain') return this.pollExits();
    }
    throw new TargetError(`${node}: the stack is still ${last} 5 s after clock-skew's undo`, { node });
  }

  async signalStack(node: string, sig: NodeJS.Signals): Promise<number> {
    const b = this.board(node);
    if ((sig === 'SIGKILL' || sig === 'SIGTERM' || sig === 'SIGINT') && this.stackRunning(node))
      this.expected.set(node, (this.expected.get(node) ?? 0) + 1);
    const oci = this.stack(node).oci;
    // `runc run` does not pass a SIGKILL on (it cannot): the container's init is signalled through runc
    if (oci) {
      const r = await b.conn.exec(['runc', '--root', oci.root, 'kill', oci.id, sig.replace(/^SIG/, '')], {
        allowFailure: true,
      });
      return r.code === 0 ? 1 : 0;
    }
    return b.conn.signalPidFile(this.pidFile(node), sig.replace(/^SIG/, ''));
  }

  private async waitStopped(node: string, ms: number): Promise<boolean> {
    const until = performance.now() + ms;
    for (;;) {
      const r = await this.board(node).conn.exec(['test', '-f', this.pidFile(node)], { allowFailure: true });
      if (r.code !== 0) {
        await this.pollExits();
        return true;
      }
      if (performance.now() > until) return false;
      await sleep(50);
    }
  }

  async stopStack(node: string, opts: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
    await this.signalStack(node, opts.signal ?? 'SIGTERM');
    if (await this.waitStopped(node, opts.graceMs ?? 3000)) return;
    await this.board(node).conn.signalPidFile(this.pidFile(node), 'KILL');
    const oci = this.stacks.get(node)?.oci;
    if (oci)
      await this.board(node).conn.exec(['runc', '--root', oci.root, 'kill', oci.id, 'KILL'], {
        allowFailure: true,
      });
    if (!(await this.waitStopped(node, 5000)))
      throw new TargetError(`${node}: stack process survived SIGKILL`, { node });
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
    const b = this.board(node);
    const shell = new SshShell(b);
    const pidf = this.pidFile(node);
    const sigScript = 'p=$(cat "$1" 2>/dev/null) || exit 0; kill -s "$2" "$p" 2>/dev/null; exit 0';
    const [effect, undo] =
      opts.method === 'sigstop'
        ? [
            ['sh', '-c', sigScript, 'ec-sig', pidf, 'STOP'],
            ['sh', '-c', sigScript, 'ec-sig', pidf, 'CONT'],
          ]
        : [
            ['sh', '-c', freezeScript, 'ec-freeze', b.layout.freezer ?? '', 'FROZEN'],
            ['sh', '-c', freezeScript, 'ec-freeze', b.layout.freezer ?? '', 'THAWED'],
          ];
    const u = shell.undoEntry(undo);
    const handle = registry.add(u.kind, `pause ${node} (${opts.method ?? 'freezer'})`, u.data);
    try {
      await shell.exec(effect);
    } catch (err) {
      await handle.revert().catch(() => undefined);
      throw err;
    }
    return handle;
  }

  /** The node's cgroups and, when its stack is a container, the child cgroup runc made for it. */
  private stackCgroups(node: string): string[] {
    const b = this.board(node);
    return [
      ...b.layout.cgroups,
      ...(this.stacks.get(node)?.oci ? b.layout.cgroups.map((c) => `${c}/ctr`) : []),
    ];
  }

  async killAll(node: string): Promise<number> {
    const b = this.board(node);
    if (this.stackRunning(node)) this.expected.set(node, (this.expected.get(node) ?? 0) + 1);
    const r = await b.conn.exec([
      'sh',
      '-c',
      killAllScript,
      'ec-killall',
      b.layout.freezer ?? '',
      ...this.stackCgroups(node),
    ]);
    await this.waitStopped(node, 5000);
    return Number(r.stdout.trim()) || 0;
  }

  async stats(node: string): Promise<NodeStats> {
    const b = this.board(node);
    const r = await b.conn.exec(['sh', '-c', statsScript, 'ec-stats', ...statFiles(b.layout)]);
    return parseCgroupStats(parseDump(r.stdout), b.layout.cgroupVersion);
  }

  async uplinkBytes(node: string): Promise<UplinkBytes> {
    const b = this.board(node);
    if (b.host.role !== 'edge') throw new UsageError(`${node} has no uplink (only edges do)`, { node });
    const r = await b.conn.exec(['nft', '-j', 'list', 'counters', 'table', 'inet', acctTable]);
    return parseAcctCounters(r.stdout);
  }

  exits(): readonly ProcessExit[] {
    return this.exitLog;
  }

  /** Copy every board's logs into runDir/logs/<node>/ (best effort). */
  async collectLogs(): Promise<void> {
    await Promise.all(
      [...this.boards.values()].map(async (b) => {
        const r = await b.conn
          .exec(
            [
              'sh',
              '-c',
              'for f in "$1"/*; do [ -f "$f" ] && echo "== $f" && tail -c 4000000 "$f"; done; exit 0',
              'ec-logs',
              b.layout.logs,
            ],
            {
              timeoutMs: 30_000,
            },
          )
          .catch(() => undefined);
        if (!r) return;
        const dir = join(this.runDir, 'logs', b.node);
        mkdirSync(dir, { recursive: true });
        for (const [file, text] of parseDump(r.stdout))
          writeFileSync(join(dir, file.slice(file.lastIndexOf('/') + 1)), text + '\n');
      }),
    );
  }

  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    this.stopHeartbeat();
    await this.collectLogs().catch((e: unknown) => log.warn(`collecting board logs: ${String(e)}`));
    await revertHandles(this.handles);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.teardown();
  }
}
