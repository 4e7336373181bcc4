import type { DataLayer } from '../../../faults/capabilities.ts';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { dataDirSettings, tmpfsMountArgv } from '../local/data-dir.ts';
import type { SshBoard } from './board.ts';
import { bundledTool } from './board-files.ts';
import type { BoardLayout } from './layout.ts';
import type { BoardFacts } from './preflight.ts';

/**
 * Each edge board's data dir as the local target has it: a size-limited tmpfs under
 * `<run>/data/<node>.disk` and the ec-fusefs fault layer mounted over the stack's data dir, passing
 * through to it, set up at deploy before the stack starts. disk-full, io-error, io-latency and
 * power-loss then run their plans unchanged through the ssh node shell (their undos armed on the
 * board like any ssh fault's). The layer runs under ec-supervise outside the node's cgroups: it is the
 * board's disk, so a power cut (kill-all) does not kill it. Journaled before anything is mounted; the
 * undo kills the layer and unmounts both, and the run's teardown unmounts whatever is still mounted
 * under the run folder before removing it.
 */

const log = logger('ssh');

export interface BoardDataPlan {
  /** The size-limited tmpfs (mount point). */
  backing: string;
  /** The stack's data dir: the layer is mounted here. */
  mount: string;
  /** The layer's control socket (short: a unix socket path has at most 107 bytes). */
  socket: string;
  /** ec-supervise name of the layer process (`<run>/run/<name>.pid`). */
  name: string;
  tool: string;
  argv: string[];
  sizeBytes: number;
  layer: DataLayer;
}

/** Where a board's disk, layer and socket go, and the layer's command line (pure). */
export function boardDataPlan(
  l: Pick<BoardLayout, 'bin' | 'data'>,
  o: { runId: string; node: string; sizeBytes: number; seed: number },
): BoardDataPlan {
  const tool = `${l.bin}/ec-fusefs`;
  const backing = `${l.data}.disk`;
  const socket = `/tmp/ecfs-${o.runId}-${o.node}.sock`;
  return {
    backing,
    mount: l.data,
    socket,
    name: 'ec-fusefs',
    tool,
    argv: [tool, 'mount', '-backing', backing, '-mount', l.data, '-ctl', socket, '-seed', String(o.seed)],
    sizeBytes: o.sizeBytes,
    layer: { ctl: [tool, 'ctl', socket], tool: [tool], backingDir: backing, sizeBytes: o.sizeBytes },
  };
}

/** Why a board gets no data layer (pure), or undefined when it can have one. */
export function dataLayerWhyNot(facts: Pick<BoardFacts, 'fuse' | 'tmpfs'>): string | undefined {
  const lack = [...(facts.fuse ? [] : ['/dev/fuse']), ...(facts.tmpfs ? [] : ['tmpfs'])];
  return lack.length ? `no ${lack.join(' and no ')} on the board` : undefined;
}

/**
 * The layer's undo, from its arguments alone: LAYERDOWN PIDFILE MOUNT BACKING SOCKET. Ends the
 * supervisor (no exit record), the layer (TERM: it unmounts itself; KILL after 2 s), then lazily
 * unmounts whatever is still at MOUNT and BACKING (a dead layer's mount, a busy tmpfs), removes the
 * socket. Idempotent; fails only when something is still mounted.
 */
export const layerDownScript = `
pidf=$1; mnt=$2; back=$3; sock=$4
s=$(cat "$pidf.sup" 2>/dev/null) && kill -9 "$s" 2>/dev/null
p=$(cat "$pidf" 2>/dev/null) && kill -TERM "$p" 2>/dev/null && {
  i=0
  while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.02 2>/dev/null || sleep 1; i=$((i+1)); done
  kill -9 "$p" 2>/dev/null
}
mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
for m in "$mnt" "$back"; do
  i=0
  while mounted "$m" && [ $i -lt 8 ]; do umount -l "$m" 2>/dev/null; i=$((i+1)); done
  mounted "$m" && { echo "$m is still mounted" >&2; exit 1; }
done
rm -f "$pidf" "$pidf.sup" "$pidf.start" "$sock"
rmdir "$back" 2>/dev/null
exit 0
`;

/** Until the layer answers `status` on its socket (10 s), or its pid file is gone: READY TOOL SOCKET PIDFILE */
const readyScript = `
i=0
until "$1" ctl "$2" status >/dev/null 2>&1; do
  i=$((i+1)); [ $i -gt 500 ] && { echo "no answer on $2 after 10 s" >&2; exit 1; }
  [ -f "$3" ] || { echo "ec-fusefs exited" >&2; exit 1; }
  sleep 0.02 2>/dev/null || sleep 1
done
`;

/**
 * Set up an edge board's data disk and fault layer, journaled before anything is mounted. Returns
 * its handle, or undefined (and the board gets no `data` layer: the disk faults are refused by name
 * there) when the data layer is off (EDGECHAOS_DATA_LAYER=off), the board lacks /dev/fuse or tmpfs,
 * or there is no ec-fusefs for its arch.
 */
export async function setupBoardDataLayer(
  b: SshBoard,
  o: { registry: CleanupRegistry; runId: string },
): Promise<CleanupHandle | undefined> {
  const settings = dataDirSettings();
  if (!settings.enabled || b.host.role !== 'edge') return undefined;
  const why = dataLayerWhyNot(b.facts);
  const bin = bundledTool('ec-fusefs', b.host.arch);
  if (why || !bin) {
    log.warn(
      `${b.node}: ${why ?? `no ${b.host.arch} ec-fusefs in stack/dist (run stack/build.sh)`}: no data-dir fault layer there (disk-full, io-error, io-latency and power-loss are refused on ${b.node})`,
    );
    return undefined;
  }
  const p = boardDataPlan(b.layout, {
    runId: o.runId,
    node: b.node,
    sizeBytes: settings.sizeBytes,
    seed: Number(/\d+$/.exec(b.node)?.[0] ?? 1),
  });
  const pidf = `${b.layout.run}/${p.name}.pid`;
  const handle = o.registry.add(
    'ssh-exec',
    `data disk and fault layer of ${b.node}`,
    b.undoData(['sh', '-c', layerDownScript, 'ec-layer-down', pidf, p.mount, p.backing, p.socket]),
  );
  await b.conn.upload(bin, p.tool);
  await b.conn.exec(['mkdir', '-p', p.backing, p.mount]);
  await b.conn.exec(tmpfsMountArgv(p.sizeBytes, b.node, p.backing));
  await b.startSupervised(p.name, p.argv, { inGroup: false, logName: 'ec-fusefs' });
  const r = await b.conn.exec(['sh', '-c', readyScript, 'ec-layer-ready', p.tool, p.socket, pidf], {
    allowFailure: true,
    timeoutMs: 20_000,
  });
  if (r.code !== 0) {
    const tail = await b.conn.exec(['tail', '-n', '5', `${b.layout.logs}/ec-fusefs.log`], {
      allowFailure: true,
    });
    throw new TargetError(
      `${b.node}: the data-dir fault layer did not start: ${r.stderr.trim()}${tail.stdout ? ` — log: ${tail.stdout.trim().split('\n').join(' | ')}` : ''}`,
      { node: b.node },
    );
  }
  b.dataLayer = p.layer;
  return handle;
}

/**
 * One control command to a board's layer (`ec-fusefs ctl SOCKET words…` over the board's ssh
 * connection): its answer lines; rejects with them on a `fail` answer.
 */
export async function boardDataControl(b: SshBoard, words: readonly string[]): Promise<string[]> {
  const layer = b.dataLayer;
  if (!layer) throw new TargetError(`${b.node} has no data-dir fault layer`, { node: b.node });
  const r = await b.conn.exec([...layer.ctl, ...words], { allowFailure: true });
  const lines = r.stdout.split('\n').filter(Boolean);
  if (r.code !== 0)
    throw new TargetError(
      `${b.node}: data layer ${words.join(' ')}: ${[...lines, r.stderr.trim()].filter(Boolean).join('; ')}`,
      { node: b.node },
    );
  return lines;
}
