import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerReverterSet } from '../../core/cleanup/reverters.ts';
import { TargetError } from '../../core/errors.ts';
import { disarmScript } from './board-scripts.ts';
import { SshConnection } from './connection.ts';
import { loadInventory } from './inventory.ts';
import { LocalConnection } from './local-host.ts';
import { knownHosts, renderSshConfig } from './ssh-config.ts';

/**
 * The ssh target's cleanup kind `ssh-exec`: run an undo argv on a board, from the journal entry alone.
 * Data: { node, where, sudo, config (the run's ssh_config), inventory (to rebuild it if the config is
 * gone), argv, lease? }. The lease (the fault's board-side safety net) is removed first, so the board's
 * timer and the harness never both undo. "Already gone" counts as reverted.
 */
export interface SshExecData {
  node: string;
  where: string;
  sudo: boolean;
  config: string;
  inventory: string;
  connectTimeoutMs: number;
  argv: string[];
  lease?: string;
  /** The cloud on the harness machine (`local: true`): the undo runs here, without ssh. */
  local?: boolean;
}

const goneText =
  /No such file|does not exist|not found|No such process|Could not process rule|Cannot find device/i;

export function sshExecData(d: Record<string, unknown>): SshExecData {
  const s = (k: string): string => {
    const v = d[k];
    if (typeof v !== 'string') throw new Error(`ssh-exec entry lacks "${k}"`);
    return v;
  };
  const argv = d['argv'];
  if (!Array.isArray(argv) || !argv.every((x) => typeof x === 'string'))
    throw new Error('ssh-exec entry lacks argv');
  return {
    node: s('node'),
    where: s('where'),
    sudo: d['sudo'] === true,
    config: s('config'),
    inventory: s('inventory'),
    connectTimeoutMs: typeof d['connectTimeoutMs'] === 'number' ? d['connectTimeoutMs'] : 5000,
    argv,
    ...(typeof d['lease'] === 'string' ? { lease: d['lease'] } : {}),
    ...(d['local'] === true ? { local: true } : {}),
  };
}

/** A connection from journal data; rebuilds the ssh_config from the inventory when it is gone. */
async function connectionFor(d: SshExecData): Promise<{ conn: SshConnection; dispose: () => void }> {
  if (d.local) return { conn: new LocalConnection(d.node, d.connectTimeoutMs), dispose: () => undefined };
  if (existsSync(d.config))
    return {
      conn: new SshConnection(d.node, d.where, d.config, d.sudo, d.connectTimeoutMs),
      dispose: () => undefined,
    };
  if (!existsSync(d.inventory))
    throw new TargetError(
      `cannot reach ${d.node} to revert: its ssh config and the inventory ${d.inventory} are both gone (the board's safety timer reverts faults on its own)`,
      { node: d.node },
    );
  const inv = await loadInventory(d.inventory);
  const dir = mkdtempSync(join(tmpdir(), 'ecssh-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'known_hosts'), knownHosts(inv.hosts), { mode: 0o600 });
  const config = join(dir, 'config');
  writeFileSync(config, renderSshConfig({ hosts: inv.hosts, dir, connectTimeoutMs: inv.connectTimeoutMs }), {
    mode: 0o600,
  });
  return {
    conn: new SshConnection(d.node, d.where, config, d.sudo, d.connectTimeoutMs),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function revertSshExec(raw: Record<string, unknown>): Promise<void> {
  const d = sshExecData(raw);
  const { conn, dispose } = await connectionFor(d);
  try {
    if (d.lease)
      await conn.exec(['sh', '-c', disarmScript, 'ec-disarm', d.lease], {
        timeoutMs: d.connectTimeoutMs + 5000,
      });
    const r = await conn.exec(d.argv, { allowFailure: true, timeoutMs: d.connectTimeoutMs + 30_000 });
    if (r.code !== 0 && !goneText.test(r.stderr))
      throw new TargetError(`${d.node}: undo ${d.argv.slice(0, 4).join(' ')} failed: ${r.stderr.trim()}`, {
        node: d.node,
      });
  } finally {
    dispose();
  }
}

export function registerSshReverters(): void {
  registerReverterSet('ssh', { 'ssh-exec': revertSshExec });
}
registerSshReverters();
