import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { stateDir } from '../../core/paths.ts';
import { isAlive, processStartTime, type ProcessIdentity } from '../../core/proc.ts';
import { deploymentsDir } from '../local/state.ts';
import { stateFilesNewestFirst, writeStateFile } from '../state-files.ts';
import type { DataLayer } from '../../../faults/capabilities.ts';
import type { ClockOffset } from './clock.ts';
import type { SshStackSpec } from './deployment.ts';
import type { BoardLayout } from './layout.ts';
import type { MgmtExemption } from './mgmt.ts';
import type { BoardFacts } from './preflight.ts';

/**
 * What `edgechaos inject` / `destroy` need to attach to an ssh deployment that `edgechaos deploy
 * --target ssh` left running. No key material: hosts come from the inventory file again, commands go
 * through the run's ssh_config (which holds the key path; removed by destroy).
 */
export interface SshDeploymentState {
  version: 1;
  target: 'ssh';
  runId: string;
  runDir: string;
  inventory: string;
  configFile: string;
  /** The cleanup journal holding every resource of the deployment (on every board). */
  journal: string;
  createdAt: string;
  /** The local process that owns the journal while the deployment lives (so `cleanup` spares it). */
  keeper?: ProcessIdentity;
  clientAddresses: string[];
  toxiproxy?: { api: string; proxies: [string, string][] };
  boards: {
    node: string;
    netAddress: string;
    facts: BoardFacts;
    layout: BoardLayout;
    offset: ClockOffset;
    uplinkDev: string;
    bundledStressor: boolean;
    mgmt?: MgmtExemption;
    stack: SshStackSpec;
    /** The edge's data-dir fault layer (data-layer.ts), when deploy set one up. */
    dataLayer?: DataLayer;
  }[];
}

export function sshDeploymentsDir(): string {
  return join(stateDir(), 'ssh-deployments');
}

const fileOf = (runId: string): string => join(sshDeploymentsDir(), `${runId}.json`);

export function saveSshState(s: SshDeploymentState): string {
  return writeStateFile(sshDeploymentsDir(), s, 0o600);
}

export function removeSshState(runId: string): void {
  rmSync(fileOf(runId), { force: true });
}

function read(file: string): SshDeploymentState {
  const s = JSON.parse(readFileSync(file, 'utf8')) as SshDeploymentState;
  if (s.version !== 1 || s.target !== 'ssh')
    throw new UsageError(`${file}: not an ssh deployment state (version ${String(s.version)})`);
  return s;
}

const newest = (dir: string): { file: string; mtime: number } | undefined => stateFilesNewestFirst(dir)[0];

/**
 * The ssh deployment a command means, or undefined when it means a local one: `runId` when it names an
 * ssh deployment; without an id, the newest ssh deployment if it is newer than every local one.
 */
export function findSshState(runId?: string): SshDeploymentState | undefined {
  if (runId) return existsSync(fileOf(runId)) ? read(fileOf(runId)) : undefined;
  const ssh = newest(sshDeploymentsDir());
  const local = newest(deploymentsDir());
  if (!ssh || (local && local.mtime > ssh.mtime)) return undefined;
  return read(ssh.file);
}

/**
 * A detached local process that lives while the state file exists: it owns the deployment's journal,
 * so `edgechaos cleanup` spares a deployment still in use (and reverts it once the keeper is gone,
 * e.g. after a reboot). `destroy` removes the state file and ends it by its pid.
 */
export function startKeeper(stateFile: string): ProcessIdentity {
  const child = spawn('sh', ['-c', 'while [ -f "$1" ]; do sleep 1; done', 'ec-ssh-keeper', stateFile], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  const pid = child.pid!;
  return { pid, startTime: processStartTime(pid) ?? '' };
}

/** End the keeper by its pid (only if it is still the same process). */
export function stopKeeper(k: ProcessIdentity | undefined): void {
  if (!k || !isAlive(k)) return;
  try {
    process.kill(k.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}
