import { randomBytes } from 'node:crypto';
import { registerReverter } from '../../core/cleanup/reverters.ts';
import { run, type RunOptions, type RunResult } from '../../core/proc.ts';
import type { NodeProcess, NodeShell, NodeSpawnOptions } from '../types.ts';

/**
 * NodeShell of a node that is a container (Kind, k3d): `docker exec <container> argv`. Helpers
 * started with `spawn` write their pid inside the node, so the undo (journaled before the spawn)
 * kills them from its data alone, even after the harness died.
 */

/** Runs one argument array on the host; tests pass a recorder. */
export type DockerExecutor = (
  argv: readonly string[],
  opts?: Pick<RunOptions, 'input' | 'allowFailure' | 'env'>,
) => Promise<RunResult>;

export const dockerExecutor: DockerExecutor = (argv, opts) => run(argv, opts ?? {});

/**
 * Tools the fault catalogue runs in a node (nft, tc). Kind's node image has iproute2 but may lack
 * nftables: it is installed with the node's own apt when missing (fixed script).
 */
export const NODE_TOOLS_SCRIPT =
  'command -v nft >/dev/null && command -v tc >/dev/null && exit 0; ' +
  'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends nftables iproute2';

/** Pure: the host command that runs `argv` inside `container` (stdin attached when input is given). */
/** `envNames`: variables the docker client passes on by name (`-e NAME`): their values never appear in an argv. */
export function dockerExecArgv(
  container: string,
  argv: readonly string[],
  input = false,
  envNames: readonly string[] = [],
): string[] {
  return [
    'docker',
    'exec',
    ...(input ? ['-i'] : []),
    ...envNames.flatMap((n) => ['-e', n]),
    container,
    ...argv,
  ];
}

/** Fixed scripts with positional arguments (never built from input): record the pid, then exec the helper. */
const PIDFILE_EXEC = 'echo $$ > "$0"; exec "$@"';
const PIDFILE_KILL = 'test -f "$0" && kill -9 "$(cat "$0")" 2>/dev/null; rm -f "$0"';

export class DockerNodeShell implements NodeShell {
  constructor(
    readonly node: string,
    readonly container: string,
    private readonly exec_: DockerExecutor = dockerExecutor,
    /** Programs replaced in spawned helpers, e.g. stress-ng → the bundled ec-stress (same flags). */
    private readonly programs: Readonly<Record<string, string>> = {},
  ) {}

  exec(argv: readonly string[], opts: { input?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
    return this.exec_(dockerExecArgv(this.container, argv, opts.input !== undefined), opts);
  }

  undoEntry(argv: readonly string[]): { kind: string; data: Record<string, unknown> } {
    return { kind: 'docker-exec', data: { container: this.container, argv: [...argv] } };
  }

  spawn(argv: readonly string[], opts: NodeSpawnOptions): Promise<NodeProcess> {
    const pidfile = `/run/edgechaos-${randomBytes(6).toString('hex')}.pid`;
    const handle = opts.registry.add('docker-exec', `${opts.what} (in ${this.container})`, {
      container: this.container,
      argv: ['sh', '-c', PIDFILE_KILL, pidfile],
    });
    // The docker client returns when the helper inside the node ends (killed by the undo).
    const [program, ...rest] = argv;
    const helper = [this.programs[program!] ?? program!, ...rest];
    const env = opts.env ?? {};
    const exited = this.exec_(
      dockerExecArgv(this.container, ['sh', '-c', PIDFILE_EXEC, pidfile, ...helper], false, Object.keys(env)),
      { allowFailure: true, ...(opts.env ? { env: { ...process.env, ...env } } : {}) },
    ).then((r) => ({ code: r.code, signal: r.signal }));
    exited.catch(() => undefined);
    return Promise.resolve({ pid: 0, exited, handle });
  }
}

/** `edgechaos cleanup`: run a journaled undo inside its node container; a node already gone is fine. */
registerReverter('docker-exec', async (d) => {
  const container = d['container'];
  const argv = d['argv'];
  if (typeof container !== 'string' || !Array.isArray(argv))
    throw new Error('docker-exec entry lacks container/argv');
  const r = await run(dockerExecArgv(container, argv as string[]), { allowFailure: true });
  if (r.code !== 0 && !/no such container|is not running/i.test(r.stderr))
    throw new Error(`docker exec ${container} ${(argv as string[]).join(' ')}: ${r.stderr.trim()}`);
});

/** `edgechaos cleanup`: a node container paused by a freeze fault is unpaused. */
registerReverter('docker-unpause', async (d) => {
  const container = d['container'];
  if (typeof container !== 'string') throw new Error('docker-unpause entry lacks container');
  const r = await run(['docker', 'unpause', container], { allowFailure: true });
  if (r.code !== 0 && !/no such container|is not paused/i.test(r.stderr))
    throw new Error(`docker unpause ${container}: ${r.stderr.trim()}`);
});
