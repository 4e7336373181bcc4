import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { reportsDir } from './paths.ts';

let counter = 0;

/**
 * A run id unique by construction: UTC time to the second (so ids sort and say when), this process's
 * pid (unique among the processes alive at that second), a per-process counter (unique within the
 * process), and 3 random bytes (for a pid reused within the same second). Lowercase letters, digits
 * and dashes only, at most 41 characters for prefixes up to 12: fit for namespace, cgroup and
 * Kubernetes names.
 */
export function newRunId(prefix = 'run', now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(4, 14); // MMDDHHMMSS
  const seq = (counter++).toString(36);
  return `${prefix}-${stamp}-${process.pid.toString(36)}-${seq}${randomBytes(3).toString('hex')}`;
}

/**
 * Create a run directory that no other run shares: an exclusive mkdir of `parent/name`, and on EEXIST
 * of `name-2`, `name-3`, … — two runs started in the same second never write into one directory.
 */
export function makeRunDir(name: string, parent: string = reportsDir()): string {
  mkdirSync(parent, { recursive: true });
  for (let i = 1; i <= 1000; i++) {
    const dir = join(parent, i === 1 ? name : `${name}-${i}`);
    try {
      mkdirSync(dir); // not recursive: fails with EEXIST when the directory is there already
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`cannot create a run directory ${join(parent, name)}: 1000 runs of that name already`);
}
