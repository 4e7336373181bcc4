import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../../src/core/paths.ts';
import type { DetachedDeployment } from '../../src/targets/plugin.ts';

/**
 * Run the edgechaos CLI as its own process (as a user would), with extra env; its exit code (or
 * signal) and output. `onStart` gets its pid as soon as it is spawned.
 */
export function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  onStart?: (pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onStart?.(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, out, err })));
}

/** The env of CLI runs with their own state and reports dirs under `dir`, logging warnings only. */
export function ownDirsEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    EDGECHAOS_STATE_DIR: join(dir, 'state'),
    EDGECHAOS_REPORTS_DIR: join(dir, 'reports'),
    EDGECHAOS_LOG: 'warn',
    ...extra,
  };
}

/** What `edgechaos deploy --json` prints (the tests read the edges' URLs). */
export type DeployInfo = Omit<DetachedDeployment, 'nodes'> & { nodes: { name: string; url: string }[] };

/** `edgechaos deploy <args> --json`: asserts it exits 0 and returns what it printed, parsed. */
export async function deployed<T = DeployInfo>(args: string[], env: NodeJS.ProcessEnv): Promise<T> {
  const d = await cli(['deploy', ...args, '--json'], env);
  assert.equal(d.code, 0, d.err);
  return JSON.parse(d.out) as T;
}

/**
 * Start `edgechaos inject …` and SIGKILL it once `moment` resolves or the fault is applied, whichever
 * comes first (then after `settleMs` more); its output and whether it had applied the fault.
 */
export async function injectThenKill(
  args: string[],
  env: NodeJS.ProcessEnv,
  moment: Promise<unknown>,
  settleMs = 0,
): Promise<{ out: string; applied: boolean }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), 'inject', ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // (a child killed by a signal keeps exitCode null: its signalCode says it ended; the poll is stopped
  // whichever way the race ends, or it would keep the test process alive forever)
  let poll: NodeJS.Timeout | undefined;
  const applied = new Promise<void>((res) => {
    poll = setInterval(() => {
      if (/applied in/.test(out) || child.exitCode !== null || child.signalCode !== null) res();
    }, 5);
  });
  await Promise.race([applied, moment]).finally(() => clearInterval(poll));
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  const wasApplied = /applied in/.test(out);
  child.kill('SIGKILL');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  return { out, applied: wasApplied };
}
