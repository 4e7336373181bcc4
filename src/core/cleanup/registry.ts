import { randomBytes } from 'node:crypto';
import { FaultRevertError } from '../errors.ts';
import { logger } from '../logger.ts';
import { stateDir } from '../paths.ts';
import { sleep } from '../deadline.ts';
import { processStartTime, spawnManaged, type ManagedProcess, type SpawnOptions } from '../proc.ts';
import { Journal, type CleanupEntry } from './journal.ts';
import { reverterFor } from './reverters.ts';

const log = logger('cleanup');

/** What `add` returns: revert it (idempotent) or dispose it with `await using`. */
export interface CleanupHandle {
  readonly id: string;
  readonly what: string;
  revert(): Promise<void>;
  /** The resource went away by other means (e.g. the process exited): stop tracking it. */
  forget(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Run ids unique by construction (see run-id.ts); re-exported for the registry's callers. */
export { newRunId } from '../run-id.ts';

/**
 * The cleanup registry: every applied resource/fault is recorded in memory AND in an fsynced
 * on-disk journal before it takes effect. `revertAll` undoes everything, last applied first,
 * keeping going past errors. After a crash, `edgechaos cleanup` replays the journal.
 */
export class CleanupRegistry {
  /** Every registry of this process not yet closed, oldest first (for the forced revert on a second Ctrl-C). */
  private static readonly live = new Set<CleanupRegistry>();
  private readonly entries = new Map<string, CleanupEntry>();
  private readonly inflight = new Map<string, Promise<void>>();
  private seq = 0;
  private closed = false;

  private constructor(
    readonly runId: string,
    private readonly journal: Journal,
  ) {}

  static open(runId: string, dir = stateDir()): CleanupRegistry {
    const owner = { pid: process.pid, startTime: processStartTime(process.pid) ?? '0' };
    const r = new CleanupRegistry(runId, Journal.create(dir, runId, owner));
    CleanupRegistry.live.add(r);
    return r;
  }

  /** Set by the forced path: nothing new may be applied any more (add() refuses, so no effect follows). */
  private static refusing = false;

  /**
   * The forced path (second Ctrl-C): revert everything every open registry of this process holds,
   * newest registry and newest entry first, with no graceful waits (SIGKILL, no grace period), not
   * waiting for reverts already under way (e.g. a graceful one stuck on a hung process). From its
   * start no new entry is accepted, so code still running (a deploy mid-way) cannot apply anything
   * more; a second pass after `settleMs` catches effects that were journaled and still landing
   * (a process spawning) during the first. Keeps going past errors; resolves with the failures.
   */
  static async forceRevertAll(settleMs = 250): Promise<{ what: string; error: unknown }[]> {
    CleanupRegistry.refusing = true;
    const reverted: CleanupEntry[] = [];
    for (const r of [...CleanupRegistry.live].reverse()) await r.forceRevert(reverted, false);
    await sleep(settleMs);
    // second pass: the reverted ones once more (idempotent: gone is success), then what is left
    const failures: { what: string; error: unknown }[] = [];
    for (const e of reverted) {
      try {
        await reverterFor(e.kind)(e.data, { fast: true });
      } catch (error) {
        failures.push({ what: e.what, error });
      }
    }
    for (const r of [...CleanupRegistry.live].reverse()) failures.push(...(await r.forceRevert([], true)));
    return failures;
  }

  /** Revert every entry at once (fast); `close`: then close, removing the journal if all are gone. */
  private async forceRevert(
    reverted: CleanupEntry[],
    close: boolean,
  ): Promise<{ what: string; error: unknown }[]> {
    const failures: { what: string; error: unknown }[] = [];
    for (const e of [...this.entries.values()].reverse()) {
      try {
        await reverterFor(e.kind)(e.data, { fast: true });
        reverted.push(e);
        if (this.entries.delete(e.id) && !this.closed) this.journal.append({ op: 'done', id: e.id });
        log.debug(`force-reverted ${e.what}`);
      } catch (error) {
        log.error(
          `forced revert failed: ${e.what}: ${error instanceof Error ? error.message : String(error)}`,
        );
        failures.push({ what: e.what, error });
      }
    }
    if (close && !this.closed) {
      this.closed = true;
      this.journal.close(this.entries.size === 0);
      CleanupRegistry.live.delete(this);
    }
    return failures;
  }

  get journalPath(): string {
    return this.journal.path;
  }

  /** Record first (durably), then the caller applies the effect. */
  add(kind: string, what: string, data: Record<string, unknown>): CleanupHandle {
    if (this.closed) throw new Error(`cleanup registry ${this.runId} is closed`);
    if (CleanupRegistry.refusing)
      throw new Error(`interrupted: forced revert under way, not applying ${what}`);
    reverterFor(kind); // fail before anything is applied if the kind cannot be reverted
    const entry: CleanupEntry = { id: `${++this.seq}`, kind, what, data, at: new Date().toISOString() };
    this.journal.append({ op: 'add', entry });
    this.entries.set(entry.id, entry);
    return {
      id: entry.id,
      what,
      revert: () => this.revert(entry.id),
      forget: () => this.forget(entry.id),
      [Symbol.asyncDispose]: () => this.revert(entry.id),
    };
  }

  /** Revert one entry; concurrent or repeated calls share the one attempt. */
  revert(id: string): Promise<void> {
    const existing = this.inflight.get(id);
    if (existing) return existing;
    const entry = this.entries.get(id);
    if (!entry) return Promise.resolve();
    const p = (async () => {
      try {
        await reverterFor(entry.kind)(entry.data);
        this.entries.delete(id);
        if (!this.closed) this.journal.append({ op: 'done', id });
        log.debug(`reverted ${entry.what}`);
      } finally {
        this.inflight.delete(id);
      }
    })();
    this.inflight.set(id, p);
    return p;
  }

  forget(id: string): void {
    if (!this.entries.delete(id)) return;
    if (!this.closed) this.journal.append({ op: 'done', id });
  }

  pending(): CleanupEntry[] {
    return [...this.entries.values()];
  }

  /** Revert everything still applied, last first; every revert is attempted even if some fail. */
  async revertAll(): Promise<void> {
    const failures: { what: string; error: unknown }[] = [];
    const all = [...this.entries.values()].reverse();
    for (const e of all) {
      try {
        await this.revert(e.id);
      } catch (error) {
        log.error(`revert failed: ${e.what}: ${error instanceof Error ? error.message : String(error)}`);
        failures.push({ what: e.what, error });
      }
    }
    if (failures.length) throw new FaultRevertError(failures);
  }

  /** Revert all, then close; the journal file is removed only when nothing is left applied. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.revertAll();
    } finally {
      this.closed = true;
      this.journal.close(this.entries.size === 0);
      CleanupRegistry.live.delete(this);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Spawn a long-running process that the registry owns: the cleanup entry (with a token the child
 * inherits in its environment) is journaled before the process exists, so even a kill -9 of the
 * harness mid-spawn leaves nothing `edgechaos cleanup` cannot find.
 */
export async function spawnRegistered(
  registry: CleanupRegistry,
  what: string,
  argv: readonly string[],
  opts: Omit<SpawnOptions, 'token'>,
): Promise<{ proc: ManagedProcess; handle: CleanupHandle }> {
  const token = `${registry.runId}.${randomBytes(4).toString('hex')}`;
  const handle = registry.add('process', what, { token, argv: [...argv] });
  try {
    const proc = await spawnManaged(argv, { ...opts, token });
    return { proc, handle };
  } catch (err) {
    await handle.revert().catch(() => undefined);
    throw err;
  }
}
