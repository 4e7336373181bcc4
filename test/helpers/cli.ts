import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../src/core/paths.ts';

/** Run the edgechaos CLI as its own process (as a user would), with extra env; its exit code and output. */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, out, err })));
}
