import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { spawnRegistered, type CleanupHandle, type CleanupRegistry } from '../../core/cleanup/registry.ts';
import { deadline, waitFor } from '../../core/deadline.ts';
import { CommandError, TargetError } from '../../core/errors.ts';
import { redact } from '../../core/logger.ts';
import { run, type ManagedProcess, type RunResult } from '../../core/proc.ts';
import { signalLoopScript } from './board-scripts.ts';
import { remoteCommand } from './remote-command.ts';
import { aliasOf } from './ssh-config.ts';

/** Why an ssh invocation failed (pure, from OpenSSH's stderr; exit code 255 is ssh's own failure). */
export type SshFailure = 'auth' | 'unreachable' | 'host-key' | 'other';

export function classifySshFailure(stderr: string): SshFailure {
  if (/Permission denied|Too many authentication failures|no mutual signature/i.test(stderr)) return 'auth';
  if (
    /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known/i.test(
      stderr,
    )
  )
    return 'host-key';
  if (
    /Connection refused|timed out|No route to host|Network is unreachable|Could not resolve|Connection closed|Connection reset|banner exchange|port \d+: Broken pipe/i.test(
      stderr,
    )
  )
    return 'unreachable';
  return 'other';
}

export interface ExecOptions {
  input?: string;
  allowFailure?: boolean;
  timeoutMs?: number;
  /** Bypass the multiplexed connection (preflight: prove the host answers on its own). */
  direct?: boolean;
  signal?: AbortSignal;
  /** What the command does, for error messages ("running preflight"). */
  doing?: string;
}

/**
 * One board, reached with the system OpenSSH client through the run's generated ssh_config. Commands
 * are argv arrays (quoted for the board's shell by `remoteCommand`); one multiplexed master connection
 * per board keeps each command at a few ms, and is restarted when it dies.
 */
/** Signal the process whose pid is in `pidFile`; prints 1 when it was signalled, 0 otherwise (fixed script). */
export function signalPidFileArgv(pidFile: string, sig: string): string[] {
  return [
    'sh',
    '-c',
    'p=$(cat "$1" 2>/dev/null) && kill -s "$2" "$p" 2>/dev/null && echo 1 || echo 0',
    'ec-signal',
    pidFile,
    sig,
  ];
}

export class SshConnection {
  private master: { proc: ManagedProcess; handle: CleanupHandle } | undefined;
  private registry: CleanupRegistry | undefined;

  constructor(
    readonly node: string,
    /** `user@host:port` for messages (no key material). */
    readonly where: string,
    readonly configFile: string,
    readonly sudo: boolean,
    private readonly connectTimeoutMs: number,
  ) {}

  get alias(): string {
    return aliasOf(this.node);
  }

  private base(direct: boolean): string[] {
    return [
      'ssh',
      '-F',
      this.configFile,
      ...(direct ? ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'] : []),
      this.alias,
    ];
  }

  /** A clear, secret-free error for a failed ssh invocation. */
  failure(stderr: string, doing: string): TargetError {
    const text = redact(stderr.replace(/\r/g, '').trim().split('\n').slice(-2).join(' | '));
    switch (classifySshFailure(stderr)) {
      case 'auth':
        return new TargetError(
          `${this.where}: authentication failed while ${doing}: the board did not accept the key (${text})`,
          {
            node: this.node,
          },
        );
      case 'host-key':
        return new TargetError(`${this.where}: host key verification failed while ${doing} (${text})`, {
          node: this.node,
        });
      case 'unreachable':
        return new TargetError(`${this.where}: unreachable while ${doing} (${text})`, { node: this.node });
      default:
        return new TargetError(`${this.where}: ssh failed while ${doing} (${text})`, { node: this.node });
    }
  }

  /** Keep one master connection (a registered process, so cleanup finds it after a crash). */
  async startMaster(registry: CleanupRegistry, logDir: string): Promise<void> {
    this.registry = registry;
    this.logDir = logDir;
    await this.ensureMaster();
  }
  private logDir = '';

  private async ensureMaster(): Promise<void> {
    if (!this.registry || (this.master && this.master.proc.running)) return;
    const old = this.master;
    this.master = undefined;
    if (old) old.handle.forget();
    const m = await spawnRegistered(
      this.registry,
      `ssh master connection to ${this.node}`,
      ['ssh', '-F', this.configFile, '-M', '-N', '-o', 'ControlPersist=no', this.alias],
      { logFile: join(this.logDir, `ssh-${this.node}.log`) },
    );
    m.proc.child.unref();
    this.master = m;
    // Ready once `ssh -O check` answers; a master that dies at once (unreachable) is left for exec to report.
    await waitFor(
      async () => {
        if (!m.proc.running) return true;
        const r = await run([...this.base(false).slice(0, 3), '-O', 'check', this.alias], {
          allowFailure: true,
        });
        return r.code === 0 ? true : undefined;
      },
      {
        signal: deadline(this.connectTimeoutMs + 2000, `ssh master connection to ${this.node}`),
        intervalMs: 20,
      },
    ).catch(() => undefined);
  }

  private channel:
    | { child: ChildProcessWithoutNullStreams; waiting: ((line: string | undefined) => void)[]; buf: string }
    | undefined;
  private channelQueue: Promise<unknown> = Promise.resolve();

  private openChannel(): NonNullable<SshConnection['channel']> {
    if (this.channel && this.channel.child.exitCode === null && !this.channel.child.killed)
      return this.channel;
    const child = spawn(
      'ssh',
      [
        ...this.base(false).slice(1),
        remoteCommand(['sh', '-c', signalLoopScript, 'ec-signals'], { sudo: this.sudo }),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const ch = { child, waiting: [] as ((line: string | undefined) => void)[], buf: '' };
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      ch.buf += d;
      let i: number;
      while ((i = ch.buf.indexOf('\n')) >= 0) {
        const line = ch.buf.slice(0, i);
        ch.buf = ch.buf.slice(i + 1);
        ch.waiting.shift()?.(line);
      }
    });
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    child.on('error', () => undefined);
    child.on('close', () => {
      for (const w of ch.waiting.splice(0)) w(undefined);
      if (this.channel === ch) this.channel = undefined;
    });
    this.channel = ch;
    return ch;
  }

  /** Open the signal channel ahead of the first kill (after the master connection is up). */
  prepareSignals(): void {
    if (this.registry) this.openChannel();
  }

  /**
   * Signal the process named in a pid file on the board through the long-lived signal channel (about
   * 1 ms once open); falls back to a fresh command if the channel is down. Resolves 1 if signalled.
   */
  signalPidFile(pidFile: string, sig: string): Promise<number> {
    const go = async (): Promise<number> => {
      if (this.registry && !/\s/.test(pidFile)) {
        await this.ensureMaster();
        const ch = this.openChannel();
        const line = await new Promise<string | undefined>((resolve) => {
          const t = setTimeout(() => resolve(undefined), 5000);
          ch.waiting.push((l) => {
            clearTimeout(t);
            resolve(l);
          });
          ch.child.stdin.write(`${pidFile} ${sig}\n`);
        });
        if (line === '1' || line === '0') return Number(line);
        ch.child.kill();
      }
      const r = await this.exec(signalPidFileArgv(pidFile, sig));
      return Number(r.stdout.trim()) || 0;
    };
    const p = this.channelQueue.then(go, go);
    this.channelQueue = p.catch(() => undefined);
    return p;
  }

  /** Stop the master connection (idempotent). */
  async close(): Promise<void> {
    this.channel?.child.stdin.end();
    this.channel?.child.kill();
    this.channel = undefined;
    const m = this.master;
    this.master = undefined;
    this.registry = undefined;
    if (m) await m.handle.revert().catch(() => undefined);
  }

  /**
   * Run `command` (which carries out `argv`) within `opts.timeoutMs` and `opts.signal`, failures
   * allowed; a command that cannot finish at all is a TargetError of this node.
   */
  protected async runBounded(
    argv: readonly string[],
    command: string[],
    opts: ExecOptions,
  ): Promise<RunResult> {
    const signal = opts.timeoutMs
      ? deadline(opts.timeoutMs, `${this.node}: ${argv[0] ?? ''}`, opts.signal)
      : opts.signal;
    try {
      return await run(command, {
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
  }

  async exec(argv: readonly string[], opts: ExecOptions = {}): Promise<RunResult> {
    if (!opts.direct) await this.ensureMaster();
    const cmd = remoteCommand(argv, { sudo: this.sudo });
    const r = await this.runBounded(argv, [...this.base(opts.direct ?? false), cmd], opts);
    if (r.code === 255 && classifySshFailure(r.stderr) !== 'other')
      throw this.failure(r.stderr, opts.doing ?? `running ${argv[0] ?? ''}`);
    if (r.code !== 0 && !opts.allowFailure)
      throw new CommandError(argv, r.code, redact(r.stderr), { node: this.node });
    return r;
  }

  /** Copy a local file to the board (streamed through ssh; written atomically, mode 0755). */
  async upload(localFile: string, remotePath: string): Promise<void> {
    await this.ensureMaster();
    const cmd = remoteCommand(
      ['sh', '-c', 'cat > "$1.tmp" && chmod 755 "$1.tmp" && mv -f "$1.tmp" "$1"', 'ec-upload', remotePath],
      { sudo: this.sudo },
    );
    await new Promise<void>((resolve, reject) => {
      const child = spawn(this.base(false)[0]!, [...this.base(false).slice(1), cmd], {
        stdio: ['pipe', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else if (code === 255) reject(this.failure(stderr, `uploading ${remotePath}`));
        else
          reject(
            new TargetError(`${this.where}: upload of ${remotePath} failed: ${redact(stderr.trim())}`, {
              node: this.node,
            }),
          );
      });
      const src = createReadStream(localFile);
      src.on('error', (e) => {
        child.kill('SIGKILL');
        reject(e);
      });
      src.pipe(child.stdin);
    });
  }
}
