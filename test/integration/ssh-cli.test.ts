import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { isAlive, run } from '../../src/core/proc.ts';
import type { SshDeploymentState } from '../../src/targets/ssh/state.ts';
import { startBoards, type Boards } from '../fixtures/ssh/boards.ts';
import { saysApplied } from '../helpers/cli.ts';
import { privateTmpdir, tempDir } from '../helpers/temp.ts';

/**
 * `edgechaos deploy --target ssh` leaves the boards running; `inject` attaches from another process,
 * applies a fault and reverts it; `destroy` removes everything on every board — each a separate CLI
 * process, as a user runs them.
 */
describe('deploy / inject / destroy / cleanup on emulated boards over SSH', () => {
  // ssh configs and masters are told apart from other runs' by this private TMPDIR
  const tmp = privateTmpdir();
  let boards: Boards;
  const state = tempDir('sshcli-state');
  const reports = tempDir('sshcli-reports');
  const env = { ...process.env, EDGECHAOS_STATE_DIR: state.path, EDGECHAOS_REPORTS_DIR: reports.path };
  const cli = (...args: string[]) =>
    run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
      allowFailure: true,
      cwd: repoRoot,
      env,
    });
  const tables = async (netns: string): Promise<string[]> =>
    (await run(['ip', 'netns', 'exec', netns, 'nft', 'list', 'tables'], { allowFailure: true })).stdout
      .split('\n')
      .filter(Boolean);
  const procs = async (netns: string): Promise<string[]> => {
    const pids = (await run(['ip', 'netns', 'pids', netns], { allowFailure: true })).stdout
      .split(/\s+/)
      .filter(Boolean);
    return pids
      .map((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim();
        } catch {
          return '';
        }
      })
      .filter((c) => c && !/^\/usr\/sbin\/sshd -D|^sshd: /.test(c));
  };

  before(async () => {
    boards = await startBoards(['cloud', 'edge-1', 'edge-2']);
  });
  after(async () => {
    await boards?.[Symbol.asyncDispose]();
    state[Symbol.dispose]();
    reports[Symbol.dispose]();
    assert.deepEqual(
      readdirSync(tmp.path).filter((f) => f.startsWith('ecssh-')),
      [],
      'no ssh config left',
    );
    tmp[Symbol.dispose]();
  });

  it('should deploy, inject a partition for 2 s from another process, revert it, and destroy everything', async (t) => {
    // A TTL longer than the test: whatever reverts a fault here is the harness or cleanup, not a board timer.
    const inventory = boards.inventory({ safetyTtl: '60s' });
    const t0 = performance.now();
    const dep = await cli('deploy', '--target', 'ssh', '--inventory', inventory, '--json');
    assert.equal(dep.code, 0, dep.stderr);
    const d = JSON.parse(dep.stdout) as { runId: string; ms: number; stateFile: string; hub: string };
    t.diagnostic(`deploy CLI: ${Math.round(performance.now() - t0)} ms (deploy itself ${d.ms} ms)`);
    const st = JSON.parse(readFileSync(d.stateFile, 'utf8')) as SshDeploymentState;
    try {
      assert.equal(st.target, 'ssh');
      assert.deepEqual(
        st.boards.map((b) => b.node),
        ['cloud', 'edge-1', 'edge-2'],
      );
      assert.ok(st.keeper && isAlive(st.keeper), 'the keeper holds the journal');
      const text = readFileSync(d.stateFile, 'utf8');
      assert.equal(text.includes(boards.keyFile), false, 'no key path in the state file');
      // The deploy process is gone; the stack lives on the boards.
      assert.equal((await fetch(`${d.hub}/healthz`)).status, 200);
      const edge1 = st.boards.find((b) => b.node === 'edge-1')!.stack.url;
      assert.equal((await fetch(`${edge1}/healthz`)).status, 200);
      // cleanup spares a deployment whose keeper lives.
      const c = await cli('cleanup', '--json');
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /still running/);
      assert.equal((await fetch(`${edge1}/healthz`)).status, 200, 'cleanup left it running');

      // inject, in its own process: the partition table appears on edge-1, and is gone when it ends.
      const e1 = boards.board('edge-1');
      const inj = spawn(
        process.execPath,
        [
          join(repoRoot, 'bin/edgechaos.mjs'),
          'inject',
          'partition',
          '--node',
          'edge-1',
          '--for',
          '2s',
          '--run',
          d.runId,
        ],
        { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      inj.stdout.setEncoding('utf8').on('data', (x: string) => (out += x));
      inj.stderr.setEncoding('utf8').on('data', (x: string) => (err += x));
      const exited = new Promise<number | null>((r) => inj.once('exit', r));
      const i0 = performance.now();
      let seenAt = -1;
      while (performance.now() - i0 < 20_000) {
        if ((await tables(e1.netns)).some((l) => /ec_/.test(l) && !/ec_acct/.test(l))) {
          seenAt = performance.now() - i0;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(seenAt >= 0, `the partition table appeared on edge-1 (${out} ${err})`);
      const cut = await fetch(`${edge1}/healthz`, { signal: AbortSignal.timeout(500) }).catch(
        () => undefined,
      );
      assert.equal(cut?.status, 200, 'an edge-cloud cut leaves the harness-to-edge path');
      const code = await exited;
      const total = performance.now() - i0;
      assert.equal(code, 0, err);
      assert.match(out, /applied in .*partition edge-1 edge-cloud/);
      assert.match(out, /reverted: partition edge-1/);
      assert.deepEqual(
        (await tables(e1.netns)).filter((l) => !/ec_acct/.test(l)),
        [],
        'partition reverted on the board',
      );
      assert.deepEqual(
        readdirSync(join(e1.dir, d.runId, 'leases')).filter((f) => f.endsWith('.lease')),
        [],
        'its board timer disarmed',
      );
      t.diagnostic(
        `inject CLI: table on the board ${Math.round(seenAt)} ms after spawn, process done (2 s fault reverted) after ${Math.round(total)} ms`,
      );
      assert.equal((await fetch(`${edge1}/healthz`)).status, 200, 'the stack still runs after inject');

      // A toxic through the CLI: in toxiproxy on the cloud board while the inject runs, with the
      // toxics safety net armed again by the inject and disarmed when it lets go.
      const cloudLeases = join(boards.board('cloud').dir, d.runId, 'leases');
      assert.equal(
        existsSync(join(cloudLeases, 'toxics.lease')),
        false,
        'deploy left the toxics timer disarmed',
      );
      const proxy = st.toxiproxy!;
      const toxicsOf = async (): Promise<unknown[]> =>
        (await (await fetch(`${proxy.api}/proxies/uplink-edge-1/toxics`)).json()) as unknown[];
      const lat = spawn(
        process.execPath,
        [
          join(repoRoot, 'bin/edgechaos.mjs'),
          'inject',
          'latency',
          '--node',
          'edge-1',
          '--for',
          '2s',
          '--param',
          'latency=150ms',
        ],
        { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const latDone = new Promise<number | null>((r) => lat.once('exit', r));
      // when the CLI says the fault is in effect (it then holds it 2 s), not after a count of polls:
      // those ran out before a loaded machine's CLI had applied it (10 s at load 26)
      assert.ok(await saysApplied(lat), 'the inject applied its latency');
      const during = await toxicsOf();
      const armed = existsSync(join(cloudLeases, 'toxics.lease'));
      assert.equal(during.length, 1, 'the latency toxic is on edge-1 uplink proxy');
      assert.ok(armed, 'the toxics timer is armed while the inject holds a toxic');
      assert.equal(await latDone, 0);
      assert.deepEqual(await toxicsOf(), [], 'toxic removed');
      assert.equal(existsSync(join(cloudLeases, 'toxics.lease')), false, 'timer disarmed again');

      // kill -9 of an inject mid-fault: `edgechaos cleanup` reverts its fault on the board (and ends its
      // ssh masters) from the inject's journal, and spares the deployment itself.
      const inj2 = spawn(
        process.execPath,
        [join(repoRoot, 'bin/edgechaos.mjs'), 'inject', 'partition', '--node', 'edge-1', '--for', '5m'],
        { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const gone = new Promise((r) => inj2.once('exit', r));
      try {
        assert.ok(await saysApplied(inj2), 'the second inject applied its partition');
        assert.ok(
          (await tables(e1.netns)).some((l) => /ec_/.test(l) && !/ec_acct/.test(l)),
          'the partition is on the board',
        );
      } finally {
        inj2.kill('SIGKILL');
        await gone;
      }
      assert.ok(
        (await tables(e1.netns)).some((l) => /ec_/.test(l) && !/ec_acct/.test(l)),
        'the partition outlived the killed inject',
      );
      const c0 = performance.now();
      const swept = await cli('cleanup', '--json');
      assert.equal(swept.code, 0, swept.stderr);
      t.diagnostic(`cleanup after kill -9 of inject: ${Math.round(performance.now() - c0)} ms`);
      assert.deepEqual(
        (await tables(e1.netns)).filter((l) => !/ec_acct/.test(l)),
        [],
        'cleanup reverted the partition on the board',
      );
      assert.match(swept.stdout, /still running/, 'and spared the deployment');
      assert.equal((await fetch(`${edge1}/healthz`)).status, 200, 'which still runs');
      const masters = await run(['pgrep', '-a', '-f', `${st.configFile} -M`], { allowFailure: true });
      assert.equal(masters.stdout.trim(), '', "the killed inject's ssh masters are gone");
      // the inject's attach armed the toxics safety net again: its disarm is journaled, so cleanup
      // disarms it (left armed, its TTL would restart the live deployment's toxiproxy)
      assert.equal(existsSync(join(cloudLeases, 'toxics.lease')), false, 'the toxics safety net disarmed');
    } finally {
      const t1 = performance.now();
      const des = await cli('destroy', '--run', d.runId, '--json');
      t.diagnostic(`destroy CLI: ${Math.round(performance.now() - t1)} ms`);
      assert.equal(des.code, 0, des.stderr + des.stdout);
    }
    for (const b of boards.boards) {
      assert.deepEqual(readdirSync(b.dir), [], `${b.name}: run folder removed`);
      assert.deepEqual(await procs(b.netns), [], `${b.name}: no process left`);
    }
    assert.deepEqual(
      (await tables(boards.board('edge-1').netns)).concat(await tables(boards.board('edge-2').netns)),
      [],
      'no nft table left on the edges',
    );
    for (const c of ['cpu', 'cpuacct', 'memory', 'freezer'])
      assert.deepEqual(
        readdirSync(`/sys/fs/cgroup/${c}`).filter((x) => x.startsWith(`ec-${d.runId}-`)),
        [],
        `no ${c} cgroup left`,
      );
    assert.equal(existsSync(d.stateFile), false, 'state file removed');
    assert.deepEqual(
      readdirSync(state.path).filter((f) => f.endsWith('.journal')),
      [],
      'journal done',
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(isAlive(st.keeper), false, 'keeper ended');
  });
});
