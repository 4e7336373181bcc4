import { randomBytes } from 'node:crypto';
import type { DataLayer } from '../../../faults/capabilities.ts';
import type { CleanupHandle } from '../../core/cleanup/registry.ts';
import { sleep } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import type { NodeProcess, NodeSpawnOptions } from '../types.ts';
import { armScript, startScript } from './board-scripts.ts';
import { estimateOffset, type ClockOffset, type ClockSample } from './clock.ts';
import type { SshConnection } from './connection.ts';
import type { InventoryHost } from './inventory.ts';
import { detachPrefix, type BoardLayout } from './layout.ts';
import type { MgmtExemption } from './mgmt.ts';
import type { BoardFacts } from './preflight.ts';
import type { SshExecData } from './reverters.ts';

const log = logger('ssh');

/** Kill the process named in a pid file (idempotent; a missing file is success). */
export const killPidfileArgv = (pidf: string): string[] => [
  'sh',
  '-c',
  'p=$(cat "$1" 2>/dev/null) || exit 0; kill -9 "$p" 2>/dev/null; exit 0',
  'ec-kill',
  pidf,
];

/**
 * Which stressor runs cpu/memory stress on a board (pure, decided at preflight): the board's own
 * stress-ng, else the bundled static `ec-stress` (same flags) uploaded to `<run>/bin/`.
 */
export function stressorOf(facts: Pick<BoardFacts, 'tools'>): 'stress-ng' | 'ec-stress' {
  return facts.tools['stress-ng'] ? 'stress-ng' : 'ec-stress';
}

/**
 * A stress-ng argv as this board runs it (pure): unchanged where the board has stress-ng, else the
 * uploaded ec-stress, which takes the same flags the catalogue's stress faults use. Any other argv is
 * left alone.
 */
export function stressArgv(
  argv: readonly string[],
  stressor: 'stress-ng' | 'ec-stress',
  bin: string,
): string[] {
  if (argv[0] !== 'stress-ng' || stressor === 'stress-ng') return [...argv];
  return [`${bin}/ec-stress`, ...argv.slice(1)];
}

/** One board of a deployment: its connection, what preflight found, its clock offset and layout. */
export class SshBoard {
  offset: ClockOffset = { offsetMs: 0, uncertaintyMs: 0, samples: 0 };
  /** Network device that carries the board's traffic to the cloud (from `ip route get`). */
  uplinkDev = 'eth0';
  /** Whether ec-stress was uploaded to `<run>/bin/` (boards without stress-ng). */
  bundledStressor = false;
  /** The harness's management SSH, spared by partitions and flaps on this node (see mgmt.ts). */
  mgmt: MgmtExemption | undefined;
  /** The edge's data-dir fault layer (ec-fusefs over a size-limited tmpfs), when deploy set one up. */
  dataLayer: DataLayer | undefined;

  constructor(
    readonly host: InventoryHost,
    readonly conn: SshConnection,
    readonly facts: BoardFacts,
    readonly layout: BoardLayout,
    readonly ctx: {
      runId: string;
      inventory: string;
      configFile: string;
      connectTimeoutMs: number;
      safetyTtlMs: number;
    },
  ) {}

  get node(): string {
    return this.host.name;
  }

  detach(name: string): string[] {
    return detachPrefix(
      this.facts.systemd && this.facts.tools['systemd-run'],
      `ec-${this.ctx.runId}-${this.node}-${name}`,
    );
  }

  /** Journal data of an undo on this board (no key material: the ssh_config file holds the key path). */
  undoData(argv: readonly string[], lease?: string): Record<string, unknown> {
    const d: SshExecData = {
      node: this.node,
      where: this.conn.where,
      sudo: this.conn.sudo,
      config: this.ctx.configFile,
      inventory: this.ctx.inventory,
      connectTimeoutMs: this.ctx.connectTimeoutMs,
      argv: [...argv],
      ...(lease ? { lease } : {}),
      ...(this.host.local ? { local: true } : {}),
    };
    return { ...d };
  }

  /** Arm a fault's board-side safety timer: `undo` runs on the board if the heartbeat stops for TTL. */
  async arm(lease: string, undo: readonly string[]): Promise<void> {
    const ttl = String(Math.max(1, Math.ceil(this.ctx.safetyTtlMs / 1000)));
    const name = lease.slice(lease.lastIndexOf('/') + 1).replace(/\.lease$/, '');
    await this.conn.exec([
      'sh',
      '-c',
      armScript,
      'ec-arm',
      this.layout.bin,
      lease,
      this.layout.heartbeat,
      ttl,
      ...this.detach(`safety-${name}`),
      '--',
      ...undo,
    ]);
  }

  /** Renew every safety timer of this board (one touch of the heartbeat file). */
  async heartbeat(): Promise<void> {
    await this.conn.exec(['touch', this.layout.heartbeat], {
      timeoutMs: Math.max(2000, this.ctx.safetyTtlMs / 2),
    });
  }

  /** Start argv under ec-supervise (pid file, exit record); in the node's cgroups when asked. */
  async startSupervised(
    name: string,
    argv: readonly string[],
    opts: { inGroup: boolean; logName: string },
  ): Promise<number> {
    const r = await this.conn.exec([
      'sh',
      '-c',
      startScript,
      'ec-start',
      this.layout.bin,
      `${this.layout.run}/${name}.pid`,
      `${this.layout.run}/${name}.exits`,
      `${this.layout.logs}/${opts.logName}.log`,
      opts.inGroup ? this.layout.cgroups.join(' ') : '',
      ...this.detach(name),
      '--',
      ...argv,
    ]);
    const out = r.stdout.trim();
    if (out === 'running') return 0;
    const pid = Number(out.split('\n').pop());
    if (!Number.isInteger(pid) || pid <= 0)
      throw new TargetError(`${this.node}: ${name} did not start: ${out}`, { node: this.node });
    return pid;
  }

  get stressor(): 'stress-ng' | 'ec-stress' {
    return stressorOf(this.facts);
  }

  /**
   * A helper (stress-ng…) on the board: journaled and armed before it starts, like a fault effect.
   * stress-ng becomes the bundled ec-stress where the board has no stress-ng.
   */
  async spawnHelper(argv: readonly string[], opts: NodeSpawnOptions): Promise<NodeProcess> {
    // boards start helpers through ssh command lines: an environment would be visible there
    if (opts.env && Object.keys(opts.env).length)
      throw new TargetError(`${this.node}: helpers with an environment are not started over ssh`, {
        node: this.node,
      });
    const a = stressArgv(argv, this.stressor, this.layout.bin);
    if (a[0] !== argv[0] && !this.bundledStressor)
      throw new TargetError(
        `${this.node}: no stress-ng on the board and no ec-stress was uploaded (run stack/build.sh, then deploy again)`,
        { node: this.node },
      );
    return (await this.spawnNamed(a, opts)).proc;
  }

  /** spawnHelper, also naming the helper (its files are `<run>/<name>.pid`, `.pid.start`). */
  async spawnNamed(
    argv: readonly string[],
    opts: NodeSpawnOptions,
  ): Promise<{ proc: NodeProcess; name: string }> {
    const name = `h-${randomBytes(4).toString('hex')}`;
    const pidf = `${this.layout.run}/${name}.pid`;
    const lease = `${this.layout.leases}/${name}.lease`;
    const undo = killPidfileArgv(pidf);
    const handle: CleanupHandle = opts.registry.add('ssh-exec', opts.what, this.undoData(undo, lease));
    let pid: number;
    try {
      await this.arm(lease, undo);
      pid = await this.startSupervised(name, argv, {
        inGroup: opts.inResourceGroup ?? false,
        logName: opts.logName ?? name,
      });
    } catch (err) {
      await handle.revert().catch(() => undefined);
      throw err;
    }
    let stopped = false;
    const exited = (async () => {
      // Also ends when the entry was reverted or forgotten through the registry (revertAll, close).
      const tracked = (): boolean => opts.registry.pending().some((e) => e.id === handle.id);
      while (!stopped && tracked()) {
        await sleep(1000);
        const r = await this.conn.exec(['test', '-f', pidf], { allowFailure: true }).catch(() => undefined);
        if (r && r.code === 1) break;
      }
      return { code: null, signal: null };
    })();
    const wrapped: CleanupHandle = {
      id: handle.id,
      what: handle.what,
      revert: async () => {
        stopped = true;
        await handle.revert();
      },
      forget: () => {
        stopped = true;
        handle.forget();
      },
      [Symbol.asyncDispose]: async () => {
        stopped = true;
        await handle.revert();
      },
    };
    return { proc: { pid, exited, handle: wrapped }, name };
  }

  /** NTP-style offset from `n` round trips over the multiplexed connection. */
  async measureClock(n = 7): Promise<ClockOffset> {
    const samples: ClockSample[] = [];
    for (let i = 0; i < n; i++) {
      const sentMs = performance.timeOrigin + performance.now();
      const r = await this.conn.exec(['date', '+%s%N']);
      const receivedMs = performance.timeOrigin + performance.now();
      const t = r.stdout.trim();
      const boardMs = /^\d+$/.test(t) ? Number(BigInt(t) / 1000n) / 1000 : Number(t.replace(/N$/, '')) * 1000;
      samples.push({ sentMs, receivedMs, boardMs });
    }
    this.offset = estimateOffset(samples);
    log.debug(`${this.node}: clock offset ${this.offset.offsetMs} ms ± ${this.offset.uncertaintyMs} ms`);
    return this.offset;
  }
}
