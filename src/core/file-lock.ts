import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { sleep } from './deadline.ts';
import { TimeoutError } from './errors.ts';

/**
 * A lock between edgechaos processes on one machine: a file created with O_EXCL holding the owner's
 * pid. A lock whose owner is dead (a harness killed with -9) is taken over. Used where two runs
 * started in the same instant must not pick the same resource (the local target's /24).
 * Resolves to the release function (idempotent).
 */
export async function acquireFileLock(
  file: string,
  opts: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<() => void> {
  const t0 = Date.now();
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readOwner(file) === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (ownerDead(file)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() - t0 > (opts.timeoutMs ?? 30_000))
        throw new TimeoutError(`lock ${file} held by pid ${readOwner(file) ?? '?'} for too long`);
      await sleep(20, opts.signal);
    }
  }
}

function readOwner(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function ownerDead(file: string): boolean {
  const pid = readOwner(file);
  if (pid === undefined) {
    // No pid yet: its creator is between create and write — unless that was long ago (it died there).
    try {
      return Date.now() - statSync(file).mtimeMs > 2000;
    } catch {
      return true; // gone meanwhile: try again
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
