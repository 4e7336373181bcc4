import { randomBytes } from 'node:crypto';
import type { RunResult } from '../../core/proc.ts';
import type { NodeProcess, NodeShell, NodeSpawnOptions } from '../types.ts';
import type { SshBoard } from './board.ts';
import { exemptManagement } from './mgmt.ts';
import './reverters.ts';

/**
 * NodeShell of the ssh target. `undoEntry` journals the undo as an `ssh-exec` entry with a fresh lease
 * on the board; the next `exec` (the effect the undo belongs to, as faults/apply.ts runs them) first
 * arms that lease's safety timer on the board, then runs the effect. So every fault effect is
 * journaled locally, then armed on the board, then applied — in that order.
 */
export class SshShell implements NodeShell {
  private pending: { argv: string[]; lease: string } | undefined;

  constructor(private readonly board: SshBoard) {}

  get node(): string {
    return this.board.node;
  }

  undoEntry(argv: readonly string[]): { kind: string; data: Record<string, unknown> } {
    const lease = `${this.board.layout.leases}/${randomBytes(6).toString('hex')}.lease`;
    this.pending = { argv: [...argv], lease };
    return { kind: 'ssh-exec', data: this.board.undoData(argv, lease) };
  }

  async exec(
    argv: readonly string[],
    opts: { input?: string; allowFailure?: boolean } = {},
  ): Promise<RunResult> {
    const p = this.pending;
    this.pending = undefined;
    if (p) await this.board.arm(p.lease, p.argv);
    // Partitions and flaps spare the harness's own SSH to this node (mgmt.ts).
    const mgmt = this.board.mgmt;
    if (mgmt && opts.input !== undefined && argv.join(' ') === 'nft -f -')
      return this.board.conn.exec(argv, { ...opts, input: exemptManagement(opts.input, mgmt) });
    return this.board.conn.exec(argv, opts);
  }

  spawn(argv: readonly string[], opts: NodeSpawnOptions): Promise<NodeProcess> {
    return this.board.spawnHelper(argv, opts);
  }
}
