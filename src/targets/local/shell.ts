import { join } from 'node:path';
import { spawnRegistered } from '../../core/cleanup/registry.ts';
import { run, type RunResult } from '../../core/proc.ts';
import type { NodeProcess, NodeShell, NodeSpawnOptions } from '../types.ts';
import './reverters.ts';
import { wrapInNode, type LocalNodeState } from './topology-plan.ts';

/** NodeShell of the local target: `ip netns exec <ns>`; spawned helpers join the node's cgroups first. */
export class NetnsShell implements NodeShell {
  constructor(
    private readonly n: LocalNodeState,
    private readonly runDir: string,
  ) {}

  get node(): string {
    return this.n.name;
  }

  exec(argv: readonly string[], opts: { input?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.n.netns, ...argv], opts);
  }

  undoEntry(argv: readonly string[]): { kind: string; data: Record<string, unknown> } {
    return { kind: 'netns-exec', data: { netns: this.n.netns, argv: [...argv] } };
  }

  async spawn(argv: readonly string[], opts: NodeSpawnOptions): Promise<NodeProcess> {
    const full = opts.inResourceGroup
      ? wrapInNode(Object.values(this.n.cgroups), this.n.netns, argv)
      : ['ip', 'netns', 'exec', this.n.netns, ...argv];
    const logName = opts.logName ?? `${this.n.name}-${argv[0]?.split('/').pop() ?? 'helper'}`;
    const { proc, handle } = await spawnRegistered(opts.registry, opts.what, full, {
      logFile: join(this.runDir, 'logs', `${logName}.log`),
      ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    });
    proc.child.unref();
    return { pid: proc.pid, exited: proc.exited, handle };
  }
}
