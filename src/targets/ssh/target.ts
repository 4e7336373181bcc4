import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { CleanupRegistry } from '../../core/cleanup/registry.ts';
import { EdgechaosError, ScenarioError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { toolsDir } from '../../core/paths.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { mapLimit } from '../local/target.ts';
import type { DeployOptions, Target, Topology } from '../types.ts';
import { SshBoard } from './board.ts';
import { preflightScript } from './board-scripts.ts';
import { estimateOffset, type ClockOffset } from './clock.ts';
import { SshConnection } from './connection.ts';
import { LocalConnection } from './local-host.ts';
import { boardExemption, harnessExemption, type MgmtExemption } from './mgmt.ts';
import { freePort } from '../../core/net.ts';
import { SshDeployment, type SshStackSpec } from './deployment.ts';
import { prepareBoard, stackSpecs, startToxiproxy, writeBoardsFile } from './deploy-steps.ts';
import { envOfArgv, prepareBoardImage, sshRuntimes, type ImageTars, type NodeRuntime } from './oci.ts';
import type { Inventory, InventoryHost } from './inventory.ts';
import { boardLayout } from './layout.ts';
import { checkPreflight, parsePreflight, type BoardFacts } from './preflight.ts';
import './reverters.ts';
import { knownHosts, renderSshConfig } from './ssh-config.ts';

const log = logger('ssh');

import { archVariant, elfArch } from './board-files.ts';
export { archVariant, bundledStressor, elfArch, toxicsUndo, uplinkDevOf } from './board-files.ts';

/**
 * toxiproxy-server for a board's arch (checked in its ELF header): `.tools/bin/linux-<arch>/`
 * (bootstrap cross-builds arm64 there), else the pinned native tool when the harness has that arch.
 */
export function toxiproxyFor(arch: 'amd64' | 'arm64', tools = toolsDir()): string | undefined {
  const candidates = [
    join(tools, 'bin', `linux-${arch}`, 'toxiproxy-server'),
    join(tools, 'bin', 'toxiproxy-server'),
  ];
  return candidates.find((c) => existsSync(c) && elfArch(c) === arch);
}

/**
 * The address the boards reach a local cloud (the harness machine) at: the inventory's `address`, else
 * the one address every directly reached edge sees as its SSH client. It must be this machine's.
 */
export function localCloudAddress(
  cloud: InventoryHost,
  edges: readonly { host: InventoryHost; facts: Pick<BoardFacts, 'client'> }[],
  file: string,
  own: readonly string[] = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)),
): string {
  const field = `hosts[${cloud.index}].address`;
  let addr = cloud.address;
  if (addr === undefined) {
    const seen = [...new Set(edges.filter((e) => !e.host.jump).map((e) => e.facts.client ?? '?'))];
    if (seen.length !== 1 || seen[0] === '?' || edges.some((e) => e.host.jump))
      throw new ScenarioError(
        `cannot tell which address the boards reach this machine at (they see ${seen.join(', ') || 'nothing'}${edges.some((e) => e.host.jump) ? '; some are behind a jump host' : ''}): give the local cloud an address`,
        { file, field },
      );
    addr = seen[0]!;
  }
  if (!own.includes(addr))
    throw new ScenarioError(`${addr} is not an address of this machine (the local cloud runs here)`, {
      file,
      field,
    });
  return addr;
}

/**
 * What of the harness's management SSH a node's partitions must spare (pure): on a board, its SSH
 * client address (the harness, or the jump host) and its sshd port; on a local cloud, the boards'
 * (and jump hosts') sshd. Undefined when the board could not tell (e.g. sudo dropped SSH_CLIENT).
 */
export function mgmtOf(
  b: { host: InventoryHost; facts: Pick<BoardFacts, 'client' | 'sshPort'> },
  all: readonly { host: InventoryHost }[],
): MgmtExemption | undefined {
  if (b.host.local)
    return harnessExemption(
      all
        .filter((x) => !x.host.local)
        .map((x) =>
          x.host.jump
            ? { address: x.host.jump.host, port: x.host.jump.port }
            : { address: x.host.host, port: x.host.port },
        ),
    );
  const port = b.facts.sshPort ?? (b.host.jump ? undefined : b.host.port);
  return b.facts.client && port ? boardExemption(b.facts.client, port) : undefined;
}

export interface PreflightResult {
  host: InventoryHost;
  facts: BoardFacts;
  warnings: string[];
}

/**
 * Boards over SSH (system OpenSSH client). deploy: preflight every board (read-only, before anything
 * changes), then per board a run folder and cgroups, right-arch binaries uploaded, the hub and
 * toxiproxy on the cloud board, the edge agents, all under ec-supervise, health-checked from here.
 */
export class SshTarget implements Target {
  readonly name = 'ssh';

  constructor(private readonly inventory: Inventory) {}

  /** Private folder with the run's ssh_config and known_hosts (0700/0600). */
  private writeConfig(hosts: readonly InventoryHost[]): { dir: string; config: string } {
    const dir = join(tmpdir(), `ecssh-${randomBytes(5).toString('hex')}`);
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'known_hosts'), knownHosts(hosts), { mode: 0o600 });
    const config = join(dir, 'config');
    writeFileSync(
      config,
      renderSshConfig({ hosts, dir, connectTimeoutMs: this.inventory.connectTimeoutMs }),
      { mode: 0o600 },
    );
    return { dir, config };
  }

  private connection(h: InventoryHost, config: string): SshConnection {
    if (h.local) return new LocalConnection(h.name, this.inventory.connectTimeoutMs);
    return new SshConnection(
      h.name,
      `${h.name} (${h.user}@${h.host}:${h.port})`,
      config,
      h.sudo,
      this.inventory.connectTimeoutMs,
    );
  }

  /** Read-only checks of every board (arch, tools, cgroups, memory, netem): errors before any change. */
  async preflight(hosts: readonly InventoryHost[], config: string): Promise<PreflightResult[]> {
    const results = await Promise.allSettled(
      hosts.map(async (h) => {
        const conn = this.connection(h, config);
        const r = await conn.exec(['sh', '-c', preflightScript, 'ec-preflight', h.dir], {
          direct: true,
          doing: 'running preflight',
          timeoutMs: this.inventory.connectTimeoutMs + 10_000,
        });
        const facts = parsePreflight(r.stdout);
        // The harness's own SSH_CLIENT (when it runs in an ssh session) is nobody's view of the harness.
        if (h.local) facts.client = undefined;
        const { warnings } = checkPreflight(h, facts, this.inventory.file);
        return { host: h, facts, warnings };
      }),
    );
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length) {
      const first = failed[0];
      if (failed.length > 1 && first instanceof Error)
        first.message += ` (and ${failed.length - 1} more board(s) failed preflight: ${failed
          .slice(1)
          .map((e) => (e instanceof Error ? e.message : String(e)))
          .join('; ')})`;
      throw first;
    }
    return results.map((r) => (r as PromiseFulfilledResult<PreflightResult>).value);
  }

  /**
   * What every board offers, without changing anything and without throwing for one bad board (for
   * `edgechaos doctor`): facts, warnings and a one-sample clock offset, or the error that board gave.
   */
  async probe(): Promise<
    { node: string; facts?: BoardFacts; warnings: string[]; clock?: ClockOffset; error?: string }[]
  > {
    const { dir, config } = this.writeConfig(this.inventory.hosts);
    try {
      return await Promise.all(
        this.inventory.hosts.map(async (h) => {
          try {
            const sent = performance.timeOrigin + performance.now();
            const [r] = await this.preflight([h], config);
            const received = performance.timeOrigin + performance.now();
            const boardMs = r!.facts.clockNs !== undefined ? r!.facts.clockNs / 1e6 : undefined;
            return {
              node: h.name,
              facts: r!.facts,
              warnings: r!.warnings,
              // One sample over a fresh connection: the offset is good to half its round trip.
              ...(boardMs !== undefined
                ? { clock: estimateOffset([{ sentMs: sent, receivedMs: received, boardMs }]) }
                : {}),
            };
          } catch (err) {
            return {
              node: h.name,
              warnings: [],
              error:
                err instanceof EdgechaosError
                  ? err.describe()
                  : err instanceof Error
                    ? err.message
                    : String(err),
            };
          }
        }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Local binary per board arch, or the command as is (a program the board already has). */
  private resolveCommand(
    role: 'edge' | 'hub',
    stack: StackManifest,
    arch: 'amd64' | 'arm64',
  ): { local?: string; argv: string[] } {
    const [exe, ...rest] = stack[role].command;
    if (!exe || !exe.startsWith('/')) return { argv: [...stack[role].command] };
    const variant = archVariant(exe, arch);
    if (!existsSync(variant))
      throw new ScenarioError(
        `no ${arch} build of ${basename(exe)}: ${variant} does not exist (run stack/build.sh)`,
        {
          file: stack.file,
          field: `${role}.command[0]`,
        },
      );
    return { local: variant, argv: rest };
  }

  /** One board per preflighted host, each reaching the others' management addresses. */
  private boardsOf(facts: readonly PreflightResult[], config: string, runId: string): Map<string, SshBoard> {
    const inv = this.inventory;
    const boards = new Map<string, SshBoard>();
    for (const f of facts) {
      const conn = this.connection(f.host, config);
      boards.set(
        f.host.name,
        new SshBoard(f.host, conn, f.facts, boardLayout(f.host.dir, runId, f.host.name, f.facts), {
          runId,
          inventory: inv.file,
          configFile: config,
          connectTimeoutMs: inv.connectTimeoutMs,
          safetyTtlMs: inv.safetyTtlMs,
        }),
      );
    }
    for (const b of boards.values()) b.mgmt = mgmtOf(b, [...boards.values()]);
    return boards;
  }

  async deploy(stack: StackManifest, topology: Topology, opts: DeployOptions): Promise<SshDeployment> {
    const inv = this.inventory;
    const names = topology.edges.map((e) => e.name);
    for (const n of names)
      if (!inv.hosts.some((h) => h.name === n && h.role === 'edge'))
        throw new ScenarioError(`the scenario's node ${n} has no edge host in the inventory`, {
          file: inv.file,
          field: 'hosts',
        });
    const hosts = [inv.cloud, ...names.map((n) => inv.host(n))];
    const { registry } = opts;
    const { dir: cfgDir, config } = this.writeConfig(inv.hosts);
    // Registered first, so it is removed last (every other revert reaches boards through it).
    const cfgHandle = registry.add('dir', `ssh config of ${opts.runId}`, { path: cfgDir, root: tmpdir() });
    let facts: PreflightResult[];
    let runtimes: Map<string, NodeRuntime>;
    try {
      facts = await this.preflight(hosts, config);
      // container or process per board, decided (or refused) before anything changes on any board
      runtimes = sshRuntimes(stack, facts);
    } catch (err) {
      await cfgHandle.revert().catch(() => undefined);
      throw err;
    }
    for (const f of facts) for (const w of f.warnings) log.info(w);
    for (const [n, r] of runtimes)
      log.info(
        `${n}: the stack runs as ${r.runtime === 'oci' ? 'a runc container' : 'a process'} (${r.reason})`,
      );
    if (inv.cloud.local) {
      const addr = localCloudAddress(
        inv.cloud,
        facts.filter((f) => f.host.role === 'edge'),
        inv.file,
      );
      for (const f of facts) if (f.host.local) f.host = { ...f.host, netAddress: addr };
    }
    const cmds = new Map(
      facts.map((f) => [
        f.host.name,
        this.resolveCommand(f.host.role === 'cloud' ? 'hub' : 'edge', stack, f.host.arch),
      ]),
    );
    mkdirSync(join(opts.runDir, 'logs'), { recursive: true });

    const boards = this.boardsOf(facts, config, opts.runId);
    const cloudBoard = boards.get('cloud')!;
    const cloudHost = cloudBoard.host;
    const local = cloudHost.local;
    // A local cloud shares the harness machine: kernel-chosen free ports on the address the boards
    // reach, the toxiproxy API on loopback; a cloud board has the machine to itself.
    const hubPort = local ? await freePort(cloudHost.netAddress) : stack.hub.port;
    const toxiBin = toxiproxyFor(cloudBoard.host.arch);
    if (!toxiBin)
      log.warn(
        `no ${cloudBoard.host.arch} toxiproxy-server (looked in ${join(toolsDir(), 'bin')}; edgechaos bootstrap builds amd64 and arm64): edges talk to the hub directly, toxiproxy faults (latency, bandwidth via toxiproxy, reset, timeout) are unavailable`,
      );
    const apiPort = local ? await freePort('127.0.0.1') : hubPort === 8474 ? 8475 : 8474;
    const apiHost = local ? '127.0.0.1' : cloudHost.host;
    const proxies = new Map<string, string>();
    const proxyPorts = new Map<string, number>();
    for (const [i, n] of names.entries()) {
      proxies.set(n, `uplink-${n}`);
      proxyPorts.set(n, local ? await freePort(cloudHost.netAddress) : 20000 + i);
    }
    // The harness as the boards see it (client-edge partitions); a board behind a jump host sees the jump host.
    const clientAddresses = [
      ...new Set(facts.filter((f) => !f.host.jump).flatMap((f) => (f.facts.client ? [f.facts.client] : []))),
    ];
    if (local && clientAddresses.includes(cloudHost.netAddress))
      log.warn(
        `the local cloud listens on ${cloudHost.netAddress}, the address the boards also see the harness (the client) at: an edge-cloud partition then also cuts the client's requests to that edge (nft matches addresses); give the local cloud a second address of this machine to keep them apart`,
      );
    const stacks = stackSpecs({ boards, cmds, stack, topology, cloudHost, hubPort, toxiBin, proxyPorts });
    for (const [n, s] of stacks) stacks.set(n, { ...s, runtime: runtimes.get(n)! });
    const images = [...boards.values()].filter((b) => runtimes.get(b.node)?.runtime === 'oci');
    const dep = new SshDeployment(
      opts.runId,
      opts.runDir,
      boards,
      stacks,
      clientAddresses,
      toxiBin ? { api: `http://${apiHost}:${apiPort}`, proxies } : undefined,
    );
    dep.handles.push(cfgHandle);
    const t0 = performance.now();
    const lap = (what: string): void => log.debug(`${what} after ${Math.round(performance.now() - t0)} ms`);
    try {
      await mapLimit([...boards.values()], 8, (b) =>
        prepareBoard(b, { dep, registry, runDir: opts.runDir, cmd: cmds.get(b.node)!, cloudHost, toxiBin }),
      );
      lap('boards prepared');
      await runImagesOnBoards(images, {
        dep,
        stacks,
        stack,
        registry,
        runDir: opts.runDir,
        runId: opts.runId,
      });
      if (images.length) lap('images on the boards');
      if (toxiBin)
        await startToxiproxy(dep, cloudBoard, {
          apiHost: local ? '127.0.0.1' : '0.0.0.0',
          apiPort,
          listenHost: local ? cloudHost.netAddress : '0.0.0.0',
          upstream: `${local ? cloudHost.netAddress : '127.0.0.1'}:${hubPort}`,
          ports: proxyPorts,
          signal: opts.signal,
        });
      await dep.startStack('cloud', opts.signal);
      lap('hub healthy');
      await mapLimit(names, 16, (n) => dep.startStack(n, opts.signal));
      lap('edges healthy');
      dep.startBackground();
      writeBoardsFile(opts.runDir, boards.values(), stacks);
    } catch (err) {
      await dep.teardown().catch((e: unknown) => log.error(`teardown after failed deploy: ${String(e)}`));
      throw err;
    }
    return dep;
  }
}

/** The role's image as a runc container on each board that runs it (its stack spec's argv). */
async function runImagesOnBoards(
  images: readonly SshBoard[],
  o: {
    dep: SshDeployment;
    stacks: Map<string, SshStackSpec>;
    stack: StackManifest;
    registry: CleanupRegistry;
    runDir: string;
    runId: string;
  },
): Promise<void> {
  const tars: ImageTars = new Map();
  // every board's preparation ends before a failure is thrown (the teardown then finds all it made)
  const failed: unknown[] = [];
  await mapLimit(images, 4, (b) => one(b).catch((e: unknown) => void failed.push(e)));
  if (failed.length) throw failed[0];
  async function one(b: SshBoard): Promise<void> {
    const spec = o.stacks.get(b.node)!;
    const r = await prepareBoardImage(b, {
      registry: o.registry,
      runDir: o.runDir,
      runId: o.runId,
      stack: o.stack,
      env: envOfArgv(spec.argv),
      images: tars,
    });
    o.dep.handles.push(r.handle);
    o.stacks.set(b.node, { ...spec, argv: r.argv, oci: r.oci });
  }
}
