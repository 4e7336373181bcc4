import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { UsageError } from '../../core/errors.ts';
import { SshBoard } from './board.ts';
import { disarmScript } from './board-scripts.ts';
import { SshConnection } from './connection.ts';
import { SshDeployment, type SshStackSpec } from './deployment.ts';
import { loadInventory } from './inventory.ts';
import { LocalConnection } from './local-host.ts';
import type { SshDeploymentState } from './state.ts';
import { toxicsUndo } from './board-files.ts';

/** The description of a live ssh deployment, for a later `inject` / `destroy` (see state.ts). */
export function sshStateOf(
  dep: SshDeployment,
  extra: { journal: string; createdAt: string },
): SshDeploymentState {
  const first = [...dep.boards.values()][0]!;
  return {
    version: 1,
    target: 'ssh',
    runId: dep.runId,
    runDir: dep.runDir,
    inventory: first.ctx.inventory,
    configFile: first.ctx.configFile,
    journal: extra.journal,
    createdAt: extra.createdAt,
    clientAddresses: [...dep.clientAddresses],
    ...(dep.toxiproxy ? { toxiproxy: { api: dep.toxiproxy.api, proxies: [...dep.toxiproxy.proxies] } } : {}),
    boards: [...dep.boards.values()].map((b) => ({
      node: b.node,
      netAddress: b.host.netAddress,
      facts: b.facts,
      layout: b.layout,
      offset: b.offset,
      uplinkDev: b.uplinkDev,
      bundledStressor: b.bundledStressor,
      ...(b.mgmt ? { mgmt: b.mgmt } : {}),
      ...(b.dataLayer ? { dataLayer: b.dataLayer } : {}),
      stack: dep.stacks.get(b.node)!,
    })),
  };
}

const toxicsLease = (dep: SshDeployment): string => `${dep.board('cloud').layout.leases}/toxics.lease`;

/** The journaled disarm of the toxics safety net an attach armed again (so `cleanup` disarms it too). */
const toxicsDisarm = new WeakMap<SshDeployment, CleanupHandle>();

/**
 * Attach to a running ssh deployment from its state: hosts from the inventory again, commands through
 * the run's ssh_config, one master connection per board registered in `registry` (the inject's), the
 * heartbeat running and the toxics safety net armed again (deploy disarmed it when it exited).
 */
export async function attachSsh(s: SshDeploymentState, registry: CleanupRegistry): Promise<SshDeployment> {
  if (!existsSync(s.configFile))
    throw new UsageError(
      `deployment ${s.runId}: its ssh config ${s.configFile} is gone (removed by hand or by a reboot); edgechaos destroy --run ${s.runId} still tears it down from the inventory`,
    );
  const inv = await loadInventory(s.inventory);
  const boards = new Map<string, SshBoard>();
  const stacks = new Map<string, SshStackSpec>();
  for (const x of s.boards) {
    const host = { ...inv.host(x.node), netAddress: x.netAddress };
    const conn = host.local
      ? new LocalConnection(host.name, inv.connectTimeoutMs)
      : new SshConnection(
          host.name,
          `${host.name} (${host.user}@${host.host}:${host.port})`,
          s.configFile,
          host.sudo,
          inv.connectTimeoutMs,
        );
    const b = new SshBoard(host, conn, x.facts, x.layout, {
      runId: s.runId,
      inventory: inv.file,
      configFile: s.configFile,
      connectTimeoutMs: inv.connectTimeoutMs,
      safetyTtlMs: inv.safetyTtlMs,
    });
    b.offset = x.offset;
    b.uplinkDev = x.uplinkDev;
    b.bundledStressor = x.bundledStressor;
    b.mgmt = x.mgmt;
    b.dataLayer = x.dataLayer;
    boards.set(x.node, b);
    stacks.set(x.node, x.stack);
  }
  const dep = new SshDeployment(
    s.runId,
    s.runDir,
    boards,
    stacks,
    s.clientAddresses,
    s.toxiproxy ? { api: s.toxiproxy.api, proxies: new Map(s.toxiproxy.proxies) } : undefined,
  );
  try {
    await Promise.all(
      [...boards.values()].map(async (b) => {
        await b.conn.startMaster(registry, join(s.runDir, 'logs'));
        b.conn.prepareSignals();
        await b.heartbeat();
      }),
    );
    await dep.resumeFromBoards();
    if (dep.toxiproxy) {
      const cloud = dep.board('cloud');
      // Journaled first: after a kill -9 of this process, `cleanup` disarms the timer (it would
      // otherwise restart the live deployment's toxiproxy once its TTL ran out).
      toxicsDisarm.set(
        dep,
        registry.add(
          'ssh-exec',
          `disarm the toxics safety net of ${s.runId}`,
          cloud.undoData(['true'], toxicsLease(dep)),
        ),
      );
      await cloud.arm(toxicsLease(dep), toxicsUndo(`${cloud.layout.run}/toxiproxy.pid`));
    }
    dep.startBackground();
  } catch (err) {
    await detachSsh(dep).catch(() => undefined);
    throw err;
  }
  return dep;
}

/**
 * Leave the deployment running and let go of it: stop the heartbeat, disarm the toxics safety net (no
 * harness holds toxics any more; everything else was reverted by whoever applied it) and close the
 * master connections. Nothing on the boards is removed.
 */
export async function detachSsh(dep: SshDeployment): Promise<void> {
  dep.stopHeartbeat();
  try {
    const disarm = toxicsDisarm.get(dep);
    toxicsDisarm.delete(dep);
    if (disarm) await disarm.revert();
    else if (dep.toxiproxy)
      await dep
        .board('cloud')
        .conn.exec(['sh', '-c', disarmScript, 'ec-disarm', toxicsLease(dep)], { timeoutMs: 10_000 });
  } finally {
    await Promise.all([...dep.boards.values()].map((b) => b.conn.close()));
  }
}
