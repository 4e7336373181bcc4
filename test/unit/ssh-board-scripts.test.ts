import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../../src/core/proc.ts';
import {
  armScript,
  disarmScript,
  safetyScript,
  startScript,
  superviseScript,
} from '../../src/targets/ssh/board-scripts.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The board scripts run for real here, by the shells boards have (dash, bash): no ssh, no root. The
 * integration tests run them through sshd on emulated boards.
 */
const shells = ['dash', 'bash'];

function board(dir: string): { bin: string; run: string; leases: string } {
  const b = { bin: join(dir, 'bin'), run: join(dir, 'run'), leases: join(dir, 'leases') };
  for (const d of Object.values(b)) mkdirSync(d, { recursive: true });
  writeFileSync(join(b.bin, 'ec-supervise'), superviseScript, { mode: 0o755 });
  writeFileSync(join(b.bin, 'ec-safety'), safetyScript, { mode: 0o755 });
  return b;
}

/** A lease `name` on a fresh board in `dir`, its heartbeat, and the marker file its undo writes. */
function leaseOn(dir: string, name: string) {
  const b = board(dir);
  return { b, lease: join(b.leases, name), hb: join(b.leases, 'heartbeat'), marker: join(dir, 'undone') };
}
/** Arm `lease` by `shell` with a TTL of 1 s against heartbeat `hb`: `undo` runs when the heartbeat goes stale. */
const arm = (shell: string, b: { bin: string }, lease: string, hb: string, ...undo: string[]) =>
  run([shell, '-c', armScript, 'ec-arm', b.bin, lease, hb, '1', 'setsid', '--', ...undo]);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(ms: number, probe: () => boolean): Promise<boolean> {
  const t0 = performance.now();
  while (!probe()) {
    if (performance.now() - t0 > ms) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** The board's start script under `shell`, supervising `sleep 30` with these pid, exits and log files. */
function startSleep(
  shell: string,
  b: { bin: string },
  pidFile: string,
  exits: string,
  log: string,
): ReturnType<typeof run> {
  return run([
    shell,
    '-c',
    startScript,
    'ec-start',
    b.bin,
    pidFile,
    exits,
    log,
    '',
    'setsid',
    '--',
    'sleep',
    '30',
  ]);
}

for (const shell of shells) {
  describe(`board scripts under ${shell}`, () => {
    it('should supervise a process: pid file, board start time, exit record with the signal', async () => {
      using d = tempDir('board');
      const b = board(d.path);
      const pidf = join(b.run, 'edge-1.pid');
      const r = await startSleep(shell, b, pidf, join(b.run, 'edge-1.exits'), join(d.path, 'edge-1.log'));
      const pid = Number(r.stdout.trim());
      assert.ok(pid > 0 && alive(pid), r.stdout + r.stderr);
      assert.equal(readFileSync(pidf, 'utf8').trim(), String(pid));
      const startNs = BigInt(readFileSync(`${pidf}.start`, 'utf8').trim());
      assert.ok(
        Math.abs(Number(startNs / 1_000_000n) - Date.now()) < 5000,
        'start time in ns since the epoch',
      );
      const again = await startSleep(shell, b, pidf, join(b.run, 'edge-1.exits'), join(d.path, 'edge-1.log'));
      assert.equal(again.stdout.trim(), 'running', 'a running process is not started twice');
      process.kill(pid, 'SIGKILL');
      assert.ok(await until(3000, () => !existsSync(pidf)), 'pid file removed on exit');
      const [status, ns] = readFileSync(join(b.run, 'edge-1.exits'), 'utf8').trim().split(' ');
      assert.equal(status, '137');
      assert.ok(BigInt(ns!) >= startNs);
    });

    it('should restart a process whose pid file has a .restart flag, until its supervisor goes', async () => {
      using d = tempDir('board');
      const b = board(d.path);
      const pidf = join(b.run, 'toxiproxy.pid');
      writeFileSync(`${pidf}.restart`, '');
      const r = await startSleep(shell, b, pidf, join(b.run, 'toxiproxy.exits'), join(d.path, 't.log'));
      const first = Number(r.stdout.trim());
      process.kill(first, 'SIGTERM');
      assert.ok(
        await until(4000, () => existsSync(pidf) && readFileSync(pidf, 'utf8').trim() !== String(first)),
        'started again',
      );
      const second = Number(readFileSync(pidf, 'utf8').trim());
      process.kill(Number(readFileSync(`${pidf}.sup`, 'utf8').trim()), 'SIGKILL');
      process.kill(second, 'SIGKILL');
    });

    it('should run the undo when the heartbeat is older than the TTL, and note it', async () => {
      using d = tempDir('board');
      const { b, lease, hb, marker } = leaseOn(d.path, 'f1.lease');
      await arm(shell, b, lease, hb, 'sh', '-c', 'echo "$1" > "$2"', 'x', 'reverted it', marker);
      assert.ok(existsSync(lease));
      const old = new Date(Date.now() - 10_000);
      utimesSync(hb, old, old); // the harness went quiet 10 s ago
      assert.ok(await until(4000, () => existsSync(marker)), 'undo ran');
      assert.equal(readFileSync(marker, 'utf8').trim(), 'reverted it');
      assert.ok(await until(2000, () => !existsSync(lease)), 'lease removed');
      assert.match(readFileSync(`${lease}.reverted`, 'utf8'), /heartbeat .* ttl 1 s\): exit 0: sh -c/);
    });

    it('should never run the undo while the heartbeat is renewed, and stop the timer on disarm', async () => {
      using d = tempDir('board');
      const { b, lease, hb, marker } = leaseOn(d.path, 'f2.lease');
      await arm(shell, b, lease, hb, 'touch', marker);
      const timer = Number(readFileSync(`${lease}.pid`, 'utf8').trim());
      for (let i = 0; i < 6; i++) {
        writeFileSync(hb, '');
        await new Promise((r) => setTimeout(r, 400));
      }
      assert.equal(existsSync(marker), false, 'renewed: not reverted');
      assert.ok(alive(timer));
      await run([shell, '-c', disarmScript, 'ec-disarm', lease]);
      assert.ok(await until(2000, () => !alive(timer)), 'timer stopped');
      assert.equal(existsSync(lease), false);
      assert.equal(existsSync(marker), false, 'disarmed: never reverted');
    });
  });
}
