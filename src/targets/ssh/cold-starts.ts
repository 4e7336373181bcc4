import { CleanupRegistry, newRunId, type CleanupHandle } from '../../core/cleanup/registry.ts';
import { sleep } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import type { RuntimeSpec } from '../local/oci/spec.ts';
import type { SshBoard } from './board.ts';
import { toHarnessMs } from './clock.ts';
import type { SshDeployment } from './deployment.ts';
import { containerDeleteArgv, sampleSpec, type SshOci } from './oci.ts';

/** One started sample: the name ec-supervise gave it (its `.pid.start`) and how to stop it. */
interface Started {
  name: string;
  stop(): Promise<void>;
}

/**
 * Cold starts on a board: a fresh edge agent (its own data folder on the board, its own port,
 * offline) in the first edge's cgroups, N times. Start-up = first 200 on /healthz as the harness sees
 * it − the moment ec-supervise started it, in board time mapped to harness time with the measured
 * clock offset; so the ssh round trips that start it are not counted (± the offset's uncertainty, a
 * few ms on a LAN). When that edge runs as a container, each sample is that container: `runc run` of
 * the rootfs already on the board (a fresh data dir bind-mounted) → first 200, so start-up scores the
 * image that was submitted; else the stack's process. `sshColdStartPath` says which.
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
  const oci = spec.oci;
  const exe = spec.argv.find((a) => a.startsWith(`${board.layout.bin}/`));
  const command = exe ? [exe, ...stack.edge.command.slice(1)] : stack.edge.command;
  const deployed = oci ? await deployedSpec(board) : undefined;
  const out: number[] = [];
  await using reg = CleanupRegistry.open(newRunId('coldstart'));
  for (let i = 0; i < samples; i++) {
    const port = 17100 + i;
    const data = `${board.layout.base}/cold-${i}`;
    const env = {
      EDGE_NODE_ID: `${edge.name}-cold-${i}`,
      EDGE_LISTEN: `0.0.0.0:${port}`,
      CLOUD_URL: 'http://127.0.0.1:9',
      EDGE_MODE: 'offline',
    };
    const url = `http://${board.host.host}:${port}${stack.edge.health}`;
    const what = `cold start ${i} on ${edge.name}`;
    const started =
      oci && deployed
        ? await startContainer(board, oci, deployed, { i, env, data, what, reg })
        : await startProcess(
            board,
            [
              'env',
              ...Object.entries({ ...stack.edge.env, ...env, EDGE_DATA_DIR: data }).map(
                ([k, v]) => `${k}=${v}`,
              ),
              ...command,
            ],
            { i, what, reg, node: edge.name },
          );
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
      const st = await board.conn.exec(['cat', `${board.layout.run}/${started.name}.pid.start`]);
      const boardMs = Number(BigInt(st.stdout.trim()) / 1000n) / 1000;
      out.push(Math.round((okAt - toHarnessMs(boardMs, board.offset)) * 10) / 10);
    } finally {
      await started.stop();
      await board.conn.exec(['rm', '-rf', data, `${data}.oci`], { allowFailure: true });
    }
  }
  return out;
}

/** What the cold start samples of a deployment start: its first edge's container, or its process. */
export function sshColdStartPath(dep: SshDeployment): 'container' | 'process' {
  return dep.stacks.get(dep.edges[0]!.name)?.oci ? 'container' : 'process';
}

async function deployedSpec(board: SshBoard): Promise<RuntimeSpec> {
  const r = await board.conn.exec(['cat', `${board.layout.base}/oci/config.json`]);
  return JSON.parse(r.stdout) as RuntimeSpec;
}

async function startProcess(
  board: SshBoard,
  argv: string[],
  o: { i: number; what: string; reg: CleanupRegistry; node: string },
): Promise<Started> {
  const { proc, name } = await board.spawnNamed(argv, {
    what: o.what,
    registry: o.reg,
    inResourceGroup: true,
    logName: `${o.node}-cold-${o.i}`,
  });
  return { name, stop: () => proc.handle.revert() };
}

/**
 * The edge's container once more, as a sample: journaled (runc delete -f, its cgroup) before it
 * exists, its bundle beside the data dir, `runc run` under ec-supervise in the node's cgroups.
 */
async function startContainer(
  board: SshBoard,
  oci: SshOci,
  deployed: RuntimeSpec,
  o: { i: number; env: Record<string, string>; data: string; what: string; reg: CleanupRegistry },
): Promise<Started> {
  const id = `${oci.id}-c${o.i}`;
  const leaf = `cold-${o.i}`;
  const spec = sampleSpec(deployed, { env: o.env, dataHost: o.data, cgroupLeaf: leaf });
  const cgroup = String(spec.linux['cgroupsPath']).replace(/^\//, '');
  const ctr: CleanupHandle = o.reg.add(
    'ssh-exec',
    `cold start container ${id} on ${board.node}`,
    board.undoData(containerDeleteArgv(oci.root, id, [cgroup])),
  );
  const bundle = `${o.data}.oci`;
  const user = deployed.process['user'] as { uid: number; gid: number };
  try {
    await board.conn.exec(['mkdir', '-p', o.data, bundle]);
    await board.conn.exec(['chown', `${user.uid}:${user.gid}`, o.data]);
    await board.conn.exec(['sh', '-c', 'cat > "$1"', 'ec-put', `${bundle}/config.json`], {
      input: JSON.stringify(spec),
    });
    const { proc, name } = await board.spawnNamed(
      ['runc', '--root', oci.root, 'run', '--bundle', bundle, id],
      {
        what: o.what,
        registry: o.reg,
        inResourceGroup: true,
        logName: `${board.node}-cold-${o.i}`,
      },
    );
    // `runc run` first (it forwards the signal to the container), then whatever runc left
    return { name, stop: () => proc.handle.revert().finally(() => ctr.revert()) };
  } catch (err) {
    await ctr.revert().catch(() => undefined);
    throw err;
  }
}
