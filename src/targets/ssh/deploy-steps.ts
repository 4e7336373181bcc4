import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deadline, waitFor } from '../../core/deadline.ts';
import { TargetError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { acctScript } from '../local/topology-plan.ts';
import type { DeployOptions, Topology } from '../types.ts';
import type { SshBoard } from './board.ts';
import { safetyScript, superviseScript, teardownScript } from './board-scripts.ts';
import { acctTable, type SshDeployment, type SshStackSpec } from './deployment.ts';
import type { InventoryHost } from './inventory.ts';
import { bundledStressor, toxicsUndo, uplinkDevOf } from './board-files.ts';
import { setupBoardDataLayer } from './data-layer.ts';

/** Steps of SshTarget.deploy, one function each (the deploy itself orders them). */

const log = logger('ssh');

type Command = { local?: string; argv: string[] };

/** The hub's and each edge's command line, health URL and URL (the contract's env, the board's paths). */
export function stackSpecs(o: {
  boards: Map<string, SshBoard>;
  cmds: Map<string, Command>;
  stack: StackManifest;
  topology: Topology;
  cloudHost: InventoryHost;
  hubPort: number;
  toxiBin: string | undefined;
  proxyPorts: Map<string, number>;
}): Map<string, SshStackSpec> {
  const { boards, cmds, stack, topology, cloudHost, hubPort, toxiBin, proxyPorts } = o;
  const local = cloudHost.local;
  const stacks = new Map<string, SshStackSpec>();
  const hubHost = local ? cloudHost.netAddress : cloudHost.host;
  for (const b of boards.values()) {
    const c = cmds.get(b.node)!;
    const exe = c.local ? [`${b.layout.bin}/${basename(c.local)}`] : [];
    if (b.host.role === 'cloud') {
      stacks.set(b.node, {
        argv: [
          'env',
          ...Object.entries(stack.hub.env).map(([k, v]) => `${k}=${v}`),
          `HUB_LISTEN=${local ? cloudHost.netAddress : '0.0.0.0'}:${hubPort}`,
          `HUB_DATA_DIR=${b.layout.data}`,
          ...exe,
          ...c.argv,
        ],
        healthUrl: `http://${hubHost}:${hubPort}${stack.hub.health}`,
        url: `http://${hubHost}:${hubPort}`,
      });
    } else {
      const cloudUrl = toxiBin
        ? `http://${cloudHost.netAddress}:${proxyPorts.get(b.node)!}`
        : `http://${cloudHost.netAddress}:${hubPort}`;
      stacks.set(b.node, {
        argv: [
          'env',
          ...Object.entries(stack.edge.env).map(([k, v]) => `${k}=${v}`),
          `EDGE_NODE_ID=${b.node}`,
          `EDGE_LISTEN=0.0.0.0:${stack.edge.port}`,
          `CLOUD_URL=${cloudUrl}`,
          `EDGE_MODE=${topology.edgeMode ?? 'auto'}`,
          `EDGE_DATA_DIR=${b.layout.data}`,
          ...exe,
          ...c.argv,
        ],
        healthUrl: `http://${b.host.host}:${stack.edge.port}${stack.edge.health}`,
        url: `http://${b.host.host}:${stack.edge.port}`,
      });
    }
  }
  return stacks;
}

/**
 * One board made ready: the ssh master, clock offset, the run folder and cgroups (journaled before they
 * exist), the supervisor and safety scripts, the right-arch binaries, uplink byte counters on edges.
 */
export async function prepareBoard(
  b: SshBoard,
  o: {
    dep: SshDeployment;
    registry: DeployOptions['registry'];
    runDir: string;
    cmd: Command;
    cloudHost: InventoryHost;
    toxiBin: string | undefined;
  },
): Promise<void> {
  const { dep, registry, runDir, cloudHost, toxiBin } = o;
  const h = b.host;
  dep.handles.push(await startMaster(b, registry, runDir));
  b.conn.prepareSignals();
  const clock = await b.measureClock();
  if (Math.abs(clock.offsetMs) > 500)
    log.warn(
      `${h.name}: clock is ${Math.round(clock.offsetMs)} ms off the harness (± ${clock.uncertaintyMs} ms); board event times are corrected, but check NTP`,
    );
  const l = b.layout;
  // Journaled before the folder or cgroups exist: removes processes, cgroups and the run folder.
  dep.handles.push(
    registry.add(
      'ssh-exec',
      `run folder, processes and cgroups of ${dep.runId} on ${h.name}`,
      b.undoData(['sh', '-c', teardownScript, 'ec-teardown', l.base, ...l.cgroups]),
    ),
  );
  await b.conn.exec(['mkdir', '-p', l.bin, l.logs, l.run, l.leases, l.data, ...l.cgroups]);
  await b.conn.exec(['touch', l.heartbeat]);
  await b.conn.exec(['sh', '-c', 'cat > "$1" && chmod 755 "$1"', 'ec-put', `${l.bin}/ec-supervise`], {
    input: superviseScript,
  });
  await b.conn.exec(['sh', '-c', 'cat > "$1" && chmod 755 "$1"', 'ec-put', `${l.bin}/ec-safety`], {
    input: safetyScript,
  });
  const c = o.cmd;
  if (c.local) await b.conn.upload(c.local, `${l.bin}/${basename(c.local)}`);
  if (h.role === 'edge' && b.stressor === 'ec-stress') {
    const st = bundledStressor(h.arch);
    if (st) {
      await b.conn.upload(st, `${l.bin}/ec-stress`);
      b.bundledStressor = true;
    } else
      log.warn(
        `${h.name}: no stress-ng on the board and no ${h.arch} ec-stress in stack/dist (run stack/build.sh): cpu/memory stress faults will fail there`,
      );
  }
  if (h.role === 'cloud' && toxiBin) await b.conn.upload(toxiBin, `${l.bin}/toxiproxy-server`);
  if (h.role === 'edge') {
    const route = await b.conn.exec(['ip', '-o', 'route', 'get', cloudHost.netAddress], {
      allowFailure: true,
    });
    b.uplinkDev = uplinkDevOf(route.stdout) ?? b.uplinkDev;
    const u = ['nft', 'delete', 'table', 'inet', acctTable];
    dep.handles.push(registry.add('ssh-exec', `uplink byte counters on ${h.name}`, b.undoData(u)));
    await b.conn.exec(['nft', '-f', '-'], { input: acctScript(acctTable, cloudHost.netAddress) });
    // the data disk and fault layer over the stack's data dir, before the stack starts
    const layer = await setupBoardDataLayer(b, { registry, runId: dep.runId });
    if (layer) dep.handles.push(layer);
  }
}

/** What each board turned out to be (written beside the run record). */
export function writeBoardsFile(
  runDir: string,
  boards: Iterable<SshBoard>,
  stacks: ReadonlyMap<string, SshStackSpec>,
): void {
  writeFileSync(
    join(runDir, 'ssh-boards.json'),
    JSON.stringify(
      [...boards].map((b) => ({
        node: b.node,
        arch: b.facts.arch,
        machine: b.facts.machine,
        kernel: b.facts.kernel,
        cgroup: b.facts.cgroup,
        netem: b.facts.netem,
        systemd: b.facts.systemd,
        stressNg: b.facts.tools['stress-ng'],
        ociRuntime: b.facts.tools.runc ? 'runc' : null,
        runtime: stacks.get(b.node)?.runtime?.runtime ?? 'process',
        runtimeReason: stacks.get(b.node)?.runtime?.reason,
        stressor: b.host.role === 'edge' ? b.stressor : undefined,
        dataLayer: b.host.role === 'edge' ? (b.dataLayer ?? null) : undefined,
        memAvailableBytes: b.facts.memAvailableBytes,
        clock: b.offset,
      })),
      null,
      2,
    ),
  );
}

async function startMaster(b: SshBoard, registry: DeployOptions['registry'], runDir: string) {
  await b.conn.startMaster(registry, join(runDir, 'logs'));
  return {
    id: `master-${b.node}`,
    what: `ssh master connection to ${b.node}`,
    revert: () => b.conn.close(),
    forget: () => undefined,
    [Symbol.asyncDispose]: () => b.conn.close(),
  };
}

export async function startToxiproxy(
  dep: SshDeployment,
  cloud: SshBoard,
  o: {
    apiHost: string;
    apiPort: number;
    listenHost: string;
    upstream: string;
    ports: Map<string, number>;
    signal: AbortSignal | undefined;
  },
): Promise<void> {
  const { apiPort, ports, signal } = o;
  // toxiproxy loads its proxies from a file at every start and is restarted by its supervisor when it
  // exits: killing it is the board-side undo of every toxic. A lease armed here (renewed by the
  // heartbeat like any fault's) does that if the harness goes away, so toxics (latency, bandwidth,
  // reset, …) get the same safety net as faults applied on the boards.
  const l = cloud.layout;
  const config = [...ports].map(([n, port]) => ({
    name: dep.toxiproxy!.proxies.get(n)!,
    listen: `${o.listenHost}:${port}`,
    upstream: o.upstream,
    enabled: true,
  }));
  await cloud.conn.exec(['sh', '-c', 'cat > "$1"', 'ec-put', `${l.bin}/toxiproxy.json`], {
    input: JSON.stringify(config),
  });
  await cloud.conn.exec(['touch', `${l.run}/toxiproxy.pid.restart`]);
  await cloud.startSupervised(
    'toxiproxy',
    [
      `${l.bin}/toxiproxy-server`,
      '-host',
      o.apiHost,
      '-port',
      String(apiPort),
      '-config',
      `${l.bin}/toxiproxy.json`,
    ],
    { inGroup: false, logName: 'toxiproxy' },
  );
  await cloud.arm(`${l.leases}/toxics.lease`, toxicsUndo(`${l.run}/toxiproxy.pid`));
  const api = dep.toxiproxy!.api;
  await waitFor(
    async () =>
      (await fetch(`${api}/version`, { signal: AbortSignal.timeout(1000) })).ok ? true : undefined,
    {
      signal: deadline(15_000, `toxiproxy at ${api} to answer`, signal),
      intervalMs: 25,
    },
  );
  const res = await fetch(`${api}/populate`, { method: 'POST', body: JSON.stringify(config) });
  if (!res.ok)
    throw new TargetError(`toxiproxy populate on cloud: HTTP ${res.status} ${await res.text()}`, {
      node: 'cloud',
    });
}
