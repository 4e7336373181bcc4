import { spawn } from 'node:child_process';
import { isAlive, processStartTime, type ProcessIdentity } from '../proc.ts';

/**
 * The owner of a deployment that outlives the command that made it (`edgechaos deploy`): a tiny
 * detached process that lives exactly as long as the deployment's state file. The deployment's
 * journal names it as owner (pid + start time from /proc/<pid>/stat), so `edgechaos cleanup` spares a
 * deployment in use — whatever happened to any one of its processes (its toxiproxy, an edge) — and
 * reverts it once the keeper is gone (e.g. after a reboot, or kill -9 of the keeper). `destroy`
 * removes the state file; the keeper then ends within a second (or at once with `stopKeeper`).
 */
export function startKeeper(stateFile: string, name = 'ec-keeper'): ProcessIdentity {
  const child = spawn('sh', ['-c', 'while [ -f "$1" ]; do sleep 1; done', name, stateFile], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the keeper of ${stateFile}`);
  const startTime = processStartTime(pid);
  if (startTime === undefined) throw new Error(`the keeper of ${stateFile} (pid ${pid}) exited at once`);
  return { pid, startTime };
}

/** End a keeper by its identity (only if it is still that same process). */
export function stopKeeper(k: ProcessIdentity | undefined): void {
  if (!k || !isAlive(k)) return;
  try {
    process.kill(k.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}
