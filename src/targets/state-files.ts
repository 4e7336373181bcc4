import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Write a deployment state as `<dir>/<runId>.json` atomically (temp file, then rename). */
export function writeStateFile(dir: string, s: { runId: string }, mode?: number): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${s.runId}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 2), mode === undefined ? {} : { mode });
  renameSync(`${file}.tmp`, file);
  return file;
}

/** The state files in `dir` (none when it does not exist), newest first. */
export function stateFilesNewestFirst(dir: string): { file: string; mtime: number }[] {
  return (existsSync(dir) ? readdirSync(dir) : [])
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: join(dir, f), mtime: statSync(join(dir, f)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
}
