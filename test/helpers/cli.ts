import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
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
 * comes first (then after `settleMs` more); its output, whether it had applied the fault and, if so,
 * how long after its spawn that was seen (ms; a later kill can aim at the moments around the apply).
 */
export async function injectThenKill(
  args: string[],
  env: NodeJS.ProcessEnv,
  moment: Promise<unknown>,
  settleMs = 0,
): Promise<{ out: string; applied: boolean; appliedAfterMs?: number }> {
  const t0 = performance.now();
  let appliedAfterMs: number | undefined;
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
      if (/applied in/.test(out)) appliedAfterMs ??= performance.now() - t0;
      if (appliedAfterMs !== undefined || child.exitCode !== null || child.signalCode !== null) res();
    }, 5);
  });
  await Promise.race([applied, moment]).finally(() => clearInterval(poll));
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  const wasApplied = /applied in/.test(out);
  child.kill('SIGKILL');
  await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  return { out, applied: wasApplied, ...(appliedAfterMs === undefined ? {} : { appliedAfterMs }) };
}

/**
 * `rounds` rounds of, per kind, `edgechaos inject <kind> <args…> <params…>` killed with SIGKILL at the
 * moment `killMoment` picks (even rounds with the fault in effect, odd ones around the apply, aimed by
 * the kind's last apply time); `afterKill` runs after each kill (cleanup, checks). Returns the kills.
 */
export async function killInjects(
  kinds: readonly (readonly [string, readonly string[]])[],
  o: { rounds: number; args: readonly string[]; env: NodeJS.ProcessEnv },
  afterKill: (
    kind: string,
    r: Awaited<ReturnType<typeof injectThenKill>>,
    kill: number,
    round: number,
  ) => Promise<void>,
): Promise<number> {
  const appliedAfter = new Map<string, number>();
  let kills = 0;
  for (let round = 0; round < o.rounds; round++)
    for (const [kind, params] of kinds) {
      const [moment, settleMs] = killMoment(round, appliedAfter.get(kind));
      const r = await injectThenKill([kind, ...o.args, ...params], o.env, moment, settleMs);
      if (r.appliedAfterMs !== undefined) appliedAfter.set(kind, r.appliedAfterMs);
      await afterKill(kind, r, ++kills, round);
    }
  return kills;
}

/** When kill #k of a series lands (see `killMoment`), as counted from `cleanup`'s report. */
export type KillStage = 'in effect' | 'mid-apply' | 'before apply';

/**
 * The moment of kill #k of a series of `injectThenKill`s: even ones with the fault in effect (0–300 ms
 * after it was applied), odd ones at a random point of the second half of the time the last applied
 * one took from spawn to applied — the end of start-up or mid-apply, whatever the machine's load.
 */
export function killMoment(k: number, lastAppliedMs: number | undefined): [Promise<unknown>, number] {
  if (k % 2 === 0 || lastAppliedMs === undefined)
    return [new Promise(() => undefined), Math.floor(Math.random() * 300)];
  return [new Promise((r) => setTimeout(r, Math.floor(lastAppliedMs * (0.5 + Math.random() * 0.5)))), 0];
}

/**
 * Where a killed inject was (pure): applied; or not yet, but its journal held fault entries (`isFault`
 * tells them from its attach's own, e.g. ssh masters) that `cleanup` reverted; or none journaled yet.
 */
export function killStage(
  applied: boolean,
  cleanup: { runs: { runId: string; reverted: string[] }[] },
  isFault: (what: string) => boolean = () => true,
): KillStage {
  if (applied) return 'in effect';
  return cleanup.runs.some((r) => r.runId.startsWith('inj-') && r.reverted.some(isFault))
    ? 'mid-apply'
    : 'before apply';
}

/** Resolves true once `edgechaos inject` prints that its fault is in effect, false if it exits first. */
export function saysApplied(p: {
  stdout: Readable;
  once(ev: 'exit', fn: () => void): unknown;
}): Promise<boolean> {
  return new Promise((resolve) => {
    let out = '';
    p.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (/^applied in /m.test(out)) resolve(true);
    });
    p.once('exit', () => resolve(/^applied in /m.test(out)));
  });
}
