import { chmodSync, copyFileSync, renameSync } from 'node:fs';
import { CommandError } from '../../core/errors.ts';
import type { RunResult } from '../../core/proc.ts';
import { signalPidFileArgv, SshConnection, type ExecOptions } from './connection.ts';

/**
 * The cloud side on the harness machine itself (`local: true` in the inventory): the same board
 * scripts, supervisor, cgroups and safety timers as on a board, but every command runs here as an
 * argv array (no ssh, no shell string) and an upload is a file copy.
 */
export class LocalConnection extends SshConnection {
  constructor(node: string, connectTimeoutMs: number) {
    super(node, `${node} (the harness machine)`, '', false, connectTimeoutMs);
  }

  override get alias(): string {
    return 'local';
  }

  override startMaster(): Promise<void> {
    return Promise.resolve();
  }

  override prepareSignals(): void {}

  override close(): Promise<void> {
    return Promise.resolve();
  }

  override async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    const r = await this.runBounded(argv, [...argv], opts);
    if (r.code !== 0 && !opts.allowFailure)
      throw new CommandError(argv, r.code, r.stderr, { node: this.node });
    return r;
  }

  override upload(localFile: string, remotePath: string): Promise<void> {
    copyFileSync(localFile, `${remotePath}.tmp`);
    chmodSync(`${remotePath}.tmp`, 0o755);
    renameSync(`${remotePath}.tmp`, remotePath);
    return Promise.resolve();
  }

  override async signalPidFile(pidFile: string, sig: string): Promise<number> {
    const r = await this.exec(signalPidFileArgv(pidFile, sig));
    return Number(r.stdout.trim()) || 0;
  }
}
