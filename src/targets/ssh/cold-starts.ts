import { CleanupRegistry, newRunId } from '../../core/cleanup/registry.ts';
import { sleep } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { toHarnessMs } from './clock.ts';
import type { SshDeployment } from './deployment.ts';

/**
 * Cold starts on a board: a fresh edge agent (its own data folder on the board, its own port,
 * offline) in the first edge's cgroups, N times. Start-up = first 200 on /healthz as the harness sees
 * it − the moment ec-supervise started the process, in board time mapped to harness time with the
 * measured clock offset; so the ssh round trips that start it are not counted (± the offset's
 * uncertainty, a few ms on a LAN).
 */
export async function sshColdStarts(
  dep: SshDeployment,
  stack: StackManifest,
  samples: number,
  signal: AbortSignal,
): Promise<number[]> {
  const edge = dep.edges[0]!;
  const board = dep.board(edge.name);
  const spec = dep.stacks.get(edge.name)!;
  const exe = spec.argv.find((a) => a.startsWith(`${board.layout.bin}/`));
  const command = exe ? [exe, ...stack.edge.command.slice(1)] : stack.edge.command;
  const out: number[] = [];
  await using reg = CleanupRegistry.open(newRunId('coldstart'));
  for (let i = 0; i < samples; i++) {
    const port = 17100 + i;
    const data = `${board.layout.base}/cold-${i}`;
    const argv = [
      'env',
      ...Object.entries(stack.edge.env).map(([k, v]) => `${k}=${v}`),
      `EDGE_NODE_ID=${edge.name}-cold-${i}`,
      `EDGE_LISTEN=0.0.0.0:${port}`,
      'CLOUD_URL=http://127.0.0.1:9',
      'EDGE_MODE=offline',
      `EDGE_DATA_DIR=${data}`,
      ...command,
    ];
    const url = `http://${board.host.host}:${port}${stack.edge.health}`;
    const { proc, name } = await board.spawnNamed(argv, {
      what: `cold start ${i} on ${edge.name}`,
      registry: reg,
      inResourceGroup: true,
      logName: `${edge.name}-cold-${i}`,
    });
    try {
      const t0 = performance.now();
      let okAt: number;
      for (;;) {
        if (signal.aborted) throw new TargetError('cold starts interrupted');
        const ok = await fetch(url, { signal: AbortSignal.timeout(500) })
          .then((r) => r.status === 200)
          .catch(() => false);
        if (ok) {
          okAt = performance.timeOrigin + performance.now();
          break;
        }
        if (performance.now() - t0 > 20_000)
          throw new TargetError(`cold start ${i}: ${url} not healthy after 20 s`, { node: edge.name });
        await sleep(2);
      }
      const st = await board.conn.exec(['cat', `${board.layout.run}/${name}.pid.start`]);
      const boardMs = Number(BigInt(st.stdout.trim()) / 1000n) / 1000;
      out.push(Math.round((okAt - toHarnessMs(boardMs, board.offset)) * 10) / 10);
    } finally {
      await proc.handle.revert();
      await board.conn.exec(['rm', '-rf', data], { allowFailure: true });
    }
  }
  return out;
}
