import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CommandError, ToolMissingError } from './errors.ts';
import { sleep } from './deadline.ts';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Feed to stdin. */
  input?: string;
  /** Feed this file to stdin instead (streamed by the kernel, never read into memory). */
  inputFile?: string;
  /** Resolve with the result even on a non-zero exit instead of throwing. */
  allowFailure?: boolean;
  /** Hint shown when the executable does not exist. */
  installHint?: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a command given as an argument array (never a shell string); collect its output. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  // opened before the promise, so a missing input file throws its own error (ENOENT naming it)
  const inFd = opts.inputFile === undefined ? undefined : openSync(opts.inputFile, 'r');
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        stdio: [inFd ?? 'pipe', 'pipe', 'pipe'],
        signal: opts.signal,
        killSignal: 'SIGKILL',
      });
    } finally {
      // the child has its own copy of the descriptor once spawned
      if (inFd !== undefined) closeSync(inFd);
    }
    let stdout = '';
    let stderr = '';
    // stdout and stderr are always pipes (stdio above)
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        reject(new ToolMissingError(file, opts.installHint ?? 'run `edgechaos bootstrap`', { cause: err }));
      else reject(err);
    });
    child.on('close', (code, sig) => {
      const res = { code, signal: sig, stdout, stderr };
      if (code !== 0 && !opts.allowFailure) reject(new CommandError(argv, code, stderr));
      else resolve(res);
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input ?? '');
    }
  });
}

/** Identity of a process that survives pid reuse: pid + start time (clock ticks since boot). */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19]; // field 22 overall: starttime
  } catch {
    return undefined;
  }
}

export function isAlive(id: ProcessIdentity): boolean {
  const st = processStartTime(id.pid);
  return st !== undefined && st === id.startTime && !isZombie(id.pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output (stdout and stderr) goes here; the directory is created. */
  logFile: string;
  /**
   * Cleanup token put into the child's environment as EDGECHAOS_TOKEN before it starts, so the
   * process and everything it spawns can be found and killed even if the harness dies mid-spawn.
   */
  token?: string;
}

export const TOKEN_ENV = 'EDGECHAOS_TOKEN';

/** Every live pid whose environment carries EDGECHAOS_TOKEN=token (or a token under that prefix + "."). */
export function pidsWithToken(token: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    if (carriesToken(Number(d), token)) out.push(Number(d));
  }
  return out;
}

/** Whether one process carries the harness token `token` (or a sub-token of it) in its environment. */
export function carriesToken(pid: number, token: string): boolean {
  // A process in the middle of an exec (its new image mapped, its stack with the environment not
  // filled in yet) reads an empty environ for as long as that takes: milliseconds on a loaded host
  // or under a CPU quota, and a scan that took it for token-less left it running after its revert.
  // Its env_end (stat) is 0 until the exec copies the pointers, then equals env_start until they are
  // copied; a process whose environment is empty keeps env_start == env_end != 0.
  const until = performance.now() + MID_EXEC_WAIT_MS;
  for (let sameEmpty = 0; ;) {
    let env: string;
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      return false;
    }
    if (env.length > 0) {
      env += '\0';
      return env.includes(`${TOKEN_ENV}=${token}\0`) || env.includes(`${TOKEN_ENV}=${token}.`);
    }
    const mm = envBounds(pid);
    if (!mm || performance.now() > until) return false; // gone, a zombie, a kernel thread
    if (mm.end === '0') sleepSync(1);
    else if (mm.start === mm.end) {
      if (++sameEmpty > EMPTY_ENV_READS) return false;
      sleepSync(1);
    } // else: filled in since the read: read it again
  }
}

/** How long a scan waits for one process to finish its exec. */
const MID_EXEC_WAIT_MS = 2000;
/** Reads, 1 ms apart, after which env_start == env_end means an empty environment. */
const EMPTY_ENV_READS = 10;

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * env_start and env_end of a live user process from /proc/<pid>/stat (fields 50, 51); undefined for a
 * kernel thread (PF_KTHREAD), a zombie or a process that is gone.
 */
function envBounds(pid: number): { start: string; end: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] = state (field 3), f[6] = flags (field 9)
    if (f[0] === 'Z' || f[0] === 'X' || (Number(f[6]) & 0x00200000) !== 0) return undefined;
    return { start: f[47] ?? '0', end: f[48] ?? '0' };
  } catch {
    return undefined;
  }
}

/**
 * The threads of `pid` that are still running user code: none once every one of them is in a
 * job-control stop (`T`, or `t` under a tracer) or dead, or the process is gone. kill(SIGSTOP)
 * returns before the process stops: the kernel wakes one thread to take the stop, and the others
 * go on until that one has run (milliseconds on a loaded host, enough to answer a request).
 * A thread in a disk wait (`D`: a slow fsync under io-latency) counts as stopped: the pending stop
 * is taken before it can return to user code, and waiting for it would hold the pause for as long
 * as the I/O takes.
 */
export function runningThreads(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.map(Number).filter((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return !'TtZXD'.includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    } catch {
      return false; // the thread exited
    }
  });
}

/** A long-running child in its own process group, with output captured to a log file. */
export class ManagedProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitState: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly argv: readonly string[],
    readonly child: ChildProcess,
    readonly identity: ProcessIdentity,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitState = { code, signal };
        resolve(this.exitState);
      });
    });
  }

  get pid(): number {
    return this.identity.pid;
  }

  get running(): boolean {
    return this.exitState === undefined;
  }

  /** SIGTERM the whole group, then SIGKILL after `graceMs`. Idempotent. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running) return;
    killGroup(this.pid, 'SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      killGroup(this.pid, 'SIGKILL');
      await this.exited;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export function killGroup(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, sig);
    return true;
  } catch {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }
}

/** Spawn detached (own process group) so the whole tree can be signalled; resolves once it is running. */
export async function spawnManaged(argv: readonly string[], opts: SpawnOptions): Promise<ManagedProcess> {
  const [file, ...args] = argv;
  if (!file) throw new Error('spawnManaged: empty argv');
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    const env = { ...(opts.env ?? process.env), ...(opts.token ? { [TOKEN_ENV]: opts.token } : {}) };
    child = spawn(file, args, { env, cwd: opts.cwd, detached: true, stdio: ['ignore', fd, fd] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? new ToolMissingError(file, 'run `edgechaos bootstrap`', { cause: err })
            : err,
        ),
      );
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid!;
  const startTime = processStartTime(pid) ?? '0';
  return new ManagedProcess(argv, child, { pid, startTime }, opts.logFile);
}
