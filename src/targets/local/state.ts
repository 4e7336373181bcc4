import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { stateDir } from '../../core/paths.ts';
import { stateFilesNewestFirst, writeStateFile } from '../state-files.ts';
import type { LocalNodeState } from './topology-plan.ts';

/** What a later process (inject, destroy, a campaign) needs to attach to a running local deployment. */
export interface LocalDeploymentState {
  version: 1;
  target: 'local';
  runId: string;
  runDir: string;
  subnet: string;
  client: string;
  bridge: string;
  toxiproxyApi: string;
  toxiproxyPid?: number;
  stackToken: string;
  /** The cleanup journal holding every resource of the deployment. */
  journal: string;
  /** The process that owns the journal while the deployment lives (ended by `destroy`). */
  keeper?: { pid: number; startTime: string };
  createdAt: string;
  nodes: LocalNodeState[];
}

export function deploymentsDir(): string {
  return join(stateDir(), 'deployments');
}

export function saveDeploymentState(s: LocalDeploymentState): string {
  return writeStateFile(deploymentsDir(), s);
}

export function removeDeploymentState(runId: string): void {
  rmSync(join(deploymentsDir(), `${runId}.json`), { force: true });
}

/** The deployment `runId`, or the newest one when no id is given. */
export function loadDeploymentState(runId?: string): LocalDeploymentState {
  const dir = deploymentsDir();
  let file: string | undefined;
  if (runId) {
    file = join(dir, `${runId}.json`);
    if (!existsSync(file)) throw new UsageError(`no deployment "${runId}" (see ${dir})`);
  } else {
    file = stateFilesNewestFirst(dir)[0]?.file;
    if (!file) throw new UsageError('no deployment found: run `edgechaos deploy` first');
  }
  const s = JSON.parse(readFileSync(file, 'utf8')) as LocalDeploymentState;
  if (s.version !== 1 || s.target !== 'local')
    throw new UsageError(`${file}: not a local deployment state (version ${String(s.version)})`);
  return s;
}

export function listDeploymentStates(): string[] {
  const dir = deploymentsDir();
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
    : [];
}
