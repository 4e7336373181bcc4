import { chmodSync, copyFileSync, renameSync } from 'node:fs';
import { CommandError, TargetError } from '../../core/errors.ts';
import { deadline } from '../../core/deadline.ts';
import { run, type RunResult } from '../../core/proc.ts';
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
    const signal = opts.timeoutMs
      ? deadline(opts.timeoutMs, `${this.node}: ${argv[0] ?? ''}`, opts.signal)
      : opts.signal;
    let r: RunResult;
    try {
      r = await run(argv, {
        allowFailure: true,
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw new TargetError(
        `${this.where}: ${argv[0] ?? ''} did not finish: ${err instanceof Error ? err.message : String(err)}`,
        { node: this.node, cause: err },
      );
    }
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
