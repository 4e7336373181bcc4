import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyFault } from '../../faults/apply.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sweep } from '../../src/core/cleanup/sweep.ts';
import { deadline, waitFor } from '../../src/core/deadline.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { loadStack } from '../../src/stack/manifest.ts';
import type { SshDeployment } from '../../src/targets/ssh/deployment.ts';
import { loadInventory } from '../../src/targets/ssh/inventory.ts';
import '../../src/targets/ssh/reverters.ts';
import { SshTarget } from '../../src/targets/ssh/target.ts';
import { planOnBoards } from '../../src/targets/ssh/plugin.ts';
import { UsageError } from '../../src/core/errors.ts';
import { assertSshSuiteLeftNothing, startBoards, type Boards } from '../fixtures/ssh/boards.ts';
import { runHolderThenKill } from '../fixtures/ssh/run-holder.ts';
import { killInjects, saysApplied } from '../helpers/cli.ts';
import { get, healthy, post, rec as record, withSlowFsync, writeUntilRefused } from '../helpers/edge-http.ts';
import { privateTmpdir, tempDir } from '../helpers/temp.ts';

/**
 * The disk faults on boards over SSH (emulated: a network namespace, its own mount namespace and a
 * real sshd each): at deploy each edge board with /dev/fuse gets a size-limited tmpfs and the
 * ec-fusefs layer over its stack's data dir; disk-full, io-error and power-loss run their catalogue
 * plans through the ssh node shell, armed on the board, reverted by the harness, by the board's own
 * timer, and by cleanup; a board without /dev/fuse gets no layer and refuses them by name. After
 * destroy, and after kill -9 + cleanup, no FUSE mount, tmpfs or ec-fusefs process is left.
 */

const rec = (size = 64): string => record(size, 'sd');

/** ms until `probe` holds (polled every 50 ms), or a timeout naming `what`. */
async function until(what: string, ms: number, probe: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  await waitFor(async () => ((await probe()) ? true : undefined), {
    signal: deadline(ms, what),
    intervalMs: 50,
  });
  return performance.now() - t0;
}

/** kill -9s of inject per disk fault kind (EDGECHAOS_TEST_KILLS; default 2). */
const killsPerKind = Number(process.env['EDGECHAOS_TEST_KILLS'] ?? '2');

describe('disk faults on the ssh target (emulated boards, FUSE layer on the board)', () => {
  const tmp = privateTmpdir();
  const dirs = { state: tempDir('ssh-data-state'), runs: tempDir('ssh-data-runs') };
  const saved = process.env['EDGECHAOS_STATE_DIR'];
  let boards: Boards, dep: SshDeployment, registry: CleanupRegistry;
  let edge1 = '';

  /** What of a run's data layer is on a board: mounts under its run folder, ec-fusefs processes, sockets. */
  async function layerOf(
    node: string,
    runId: string,
  ): Promise<{ fuse: number; tmpfs: number; procs: number; sockets: number }> {
    const b = boards.board(node);
    // the board's own mount namespace (its sshd's): mounts made over ssh are not visible on the host
    const mi = await run(['nsenter', '-t', String(b.sshd.pid), '-m', 'cat', '/proc/self/mountinfo']);
    const mine = mi.stdout
      .split('\n')
      .map((l) => l.split(' '))
      .filter((f) => (f[4] ?? '').startsWith(`${b.dir}/${runId}/`));
    const fstype = (f: string[]): string => f[f.indexOf('-') + 1] ?? '';
    const ps = await run(['ps', '-eo', 'args=']);
    return {
      fuse: mine.filter((f) => fstype(f).startsWith('fuse')).length,
      tmpfs: mine.filter((f) => fstype(f) === 'tmpfs').length,
      // the layer itself (its supervisor's command line names it too)
      procs: ps.stdout
        .split('\n')
        .filter((l) => /^\S*\/ec-fusefs mount /.test(l) && l.includes(`${b.dir}/${runId}/`)).length,
      sockets: readdirSync('/tmp').filter((f) => f === `ecfs-${runId}-${node}.sock`).length,
    };
  }
  const none = { fuse: 0, tmpfs: 0, procs: 0, sockets: 0 };
  const leases = (): string[] =>
    readdirSync(join(boards.board('edge-1').dir, registry.runId, 'leases')).filter((f) =>
      f.endsWith('.lease'),
    );
  const sh = (script: string, ...args: string[]) =>
    dep.shell('edge-1').exec(['sh', '-c', script, 'ec-test', ...args], { allowFailure: true });

  before(async () => {
    process.env['EDGECHAOS_STATE_DIR'] = dirs.state.path;
    boards = await startBoards(['cloud', 'edge-1', 'edge-2']);
    // edge-2 is a board without FUSE: an empty file over /dev/fuse in its own mount namespace
    const nofuse = join(tmp.path, 'no-fuse');
    writeFileSync(nofuse, '');
    await run([
      'nsenter',
      '-t',
      String(boards.board('edge-2').sshd.pid),
      '-m',
      'mount',
      '--bind',
      nofuse,
      '/dev/fuse',
    ]);
    const inv = await loadInventory(boards.inventory({ safetyTtl: '3s' }));
    registry = CleanupRegistry.open(`sshdata${process.pid}`);
    dep = await new SshTarget(inv).deploy(
      await loadStack(),
      { edges: [{ name: 'edge-1' }, { name: 'edge-2' }] },
      { runId: registry.runId, runDir: dirs.runs.path, registry },
    );
    edge1 = dep.edges.find((e) => e.name === 'edge-1')!.url;
  });
  after(async () => {
    try {
      await dep?.teardown();
      await registry?.close();
    } finally {
      try {
        // disposed whatever happened above: a board left running would hold this process open
        await boards?.[Symbol.asyncDispose]();
      } finally {
        if (saved === undefined) delete process.env['EDGECHAOS_STATE_DIR'];
        else process.env['EDGECHAOS_STATE_DIR'] = saved;
        dirs.state[Symbol.dispose]();
        dirs.runs[Symbol.dispose]();
      }
    }
    if (boards) await assertSshSuiteLeftNothing(boards, tmp);
  });

  it('should mount a size-limited tmpfs and ec-fusefs over the data dir of a board with FUSE, before the stack starts', async () => {
    assert.deepEqual(await layerOf('edge-1', registry.runId), { fuse: 1, tmpfs: 1, procs: 1, sockets: 1 });
    assert.deepEqual(
      await layerOf('edge-2', registry.runId),
      none,
      'no layer on the board without /dev/fuse',
    );
    const layer = dep.faultSurface().data?.dataLayer('edge-1');
    assert.ok(layer, 'edge-1 has a data layer');
    assert.equal(dep.faultSurface().data?.dataLayer('edge-2'), undefined);
    const b = dep.board('edge-1');
    assert.equal(layer.backingDir, `${b.layout.data}.disk`);
    assert.deepEqual(layer.tool, [`${b.layout.bin}/ec-fusefs`]);
    const df = await sh('df --output=size -B1 "$1" | tail -n 1', layer.backingDir);
    assert.equal(Number(df.stdout.trim()), layer.sizeBytes, 'the disk has its size');
    // the agent's store is on the layer: its files are in the backing disk
    assert.equal((await post(edge1, rec())).status, 201);
    const files = await sh('ls "$1"', layer.backingDir);
    assert.notEqual(files.stdout.trim(), '', `the agent wrote into the layer's disk: ${files.stderr}`);
    assert.deepEqual(await dep.faultSurface().data!.control('edge-1', ['status']), [
      'ok',
      'unsynced files=0 writes=0',
    ]);
  });

  it('should refuse the disk faults by name on the board without a layer, before anything changes', async () => {
    for (const kind of ['disk-full', 'io-error', 'power-loss'])
      await assert.rejects(
        applyFault(dep, { kind, node: 'edge-2', params: {} }, registry),
        /data-dir fault layer \(ec-fusefs\) on edge-2/,
      );
    // a campaign's faults, planned right after deploy: the one on the board without a layer is refused
    const ok = { id: 'a', kind: 'io-error', node: 'edge-1', params: {} };
    planOnBoards([ok], dep);
    assert.throws(
      () => planOnBoards([ok, { id: 'b', kind: 'disk-full', node: 'edge-2', params: {} }], dep),
      (e: unknown) =>
        e instanceof UsageError && e.field === 'faults[1].kind' && /ec-fusefs\) on edge-2/.test(e.message),
    );
    assert.ok(await healthy(dep.edges.find((e) => e.name === 'edge-2')!.url), 'edge-2 untouched');
    assert.deepEqual(
      readdirSync(join(boards.board('edge-2').dir, registry.runId, 'leases')).filter((f) =>
        f.endsWith('.lease'),
      ),
      [],
    );
  });

  it('should fill the data disk: writes refused (ENOSPC, no 201), reads served, the undo armed on the board; revert (harness or board timer) restores', async (t) => {
    const layer = dep.board('edge-1').dataLayer;
    const acked: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await post(edge1, rec());
      if (r.status === 201) acked.push(r.id);
    }
    const f = await applyFault(dep, { kind: 'disk-full', node: 'edge-1', params: {} }, registry);
    try {
      assert.equal(leases().length, 1, 'the undo is armed on the board');
      const avail = await sh('df --output=avail -B1 "$1" | tail -n 1', layer!.backingDir);
      assert.equal(Number(avail.stdout.trim()), 0, 'no space left on the board disk');
      const w = await sh(
        'head -c 1048576 /dev/zero > "$1/probe-full"',
        layer!.backingDir.replace(/\.disk$/, ''),
      );
      assert.notEqual(w.code, 0);
      assert.match(w.stderr, /No space left on device/);
      assert.ok((await writeUntilRefused(edge1, acked)) >= 5, 'the agent refuses writes on a full disk');
      for (const id of acked.slice(0, 10))
        assert.equal(await get(edge1, id), 200, `read ${id} on a full disk`);
    } finally {
      await f.revert();
    }
    assert.equal(leases().length, 0, 'disarmed');
    const fills = await sh('ls -a "$1" | grep -c "\\.fill$"', layer!.backingDir);
    assert.equal(fills.stdout.trim(), '0', 'the fill file is gone');
    const size = await sh('df --output=size -B1 "$1" | tail -n 1', layer!.backingDir);
    assert.equal(Number(size.stdout.trim()), layer!.sizeBytes, 'revert gave the disk its size back');
    await sh('rm -f "$1/probe-full"', layer!.backingDir.replace(/\.disk$/, ''));
    await until('writes work again', 10_000, async () => (await post(edge1, rec())).status === 201);
    for (const id of acked) assert.equal(await get(edge1, id), 200, `acknowledged ${id} readable after`);

    // the harness goes quiet: the board's own timer gives the disk its size back after the TTL
    const size2 = async (): Promise<number> =>
      Number((await sh('df --output=size -B1 "$1" | tail -n 1', layer!.backingDir)).stdout.trim());
    const g = await applyFault(dep, { kind: 'disk-full', node: 'edge-1', params: {} }, registry);
    try {
      assert.ok((await size2()) < layer!.sizeBytes, 'the disk shrank');
      dep.stopHeartbeat();
      const ms = await until(
        'board-side revert of disk-full',
        15_000,
        async () => (await size2()) === layer!.sizeBytes,
      );
      t.diagnostic(
        `heartbeat stopped: the board gave its disk its size back itself after ${Math.round(ms)} ms (TTL 3 s)`,
      );
      assert.ok(ms >= 2000, 'not before the TTL ran out');
    } finally {
      dep.startBackground();
      await g.revert();
    }
    assert.equal(leases().length, 0);
  });

  it('should fail writes with io-error (EIO on the board) and slow fsyncs with io-latency until reverted, by the harness or by the board timer', async (t) => {
    const data = dep.board('edge-1').layout.data;
    const e = await applyFault(dep, { kind: 'io-error', node: 'edge-1', params: { op: 'write' } }, registry);
    try {
      const w = await sh('printf x > "$1/probe-eio"', data);
      assert.match(w.stderr, /Input\/output error|I\/O error/, 'a write under the data dir gets EIO');
      const r = await post(edge1, rec());
      assert.ok(r.status >= 500, `write under io-error answered ${r.status}`);
      assert.equal(leases().length, 1, 'the undo is armed on the board');
    } finally {
      await e.revert();
    }
    const st = await dep.faultSurface().data!.control('edge-1', ['status']);
    assert.equal(st.filter((l) => l.startsWith('rule ')).length, 0, `no rule left: ${st.join('; ')}`);
    assert.equal((await sh('printf x > "$1/probe-eio"', data)).code, 0, 'writes work after revert');
    assert.equal((await post(edge1, rec())).status, 201);
    await withSlowFsync(dep, 'edge-1', registry, edge1);
    assert.equal(leases().length, 0, 'io-latency disarmed');

    // the harness goes quiet: the board's own timer clears the rule after the TTL
    const f = await applyFault(dep, { kind: 'io-error', node: 'edge-1', params: { op: 'write' } }, registry);
    try {
      dep.stopHeartbeat();
      const t0 = performance.now();
      const rules = async (): Promise<number> =>
        (await dep.faultSurface().data!.control('edge-1', ['status'])).filter((l) => l.startsWith('rule '))
          .length;
      assert.equal(await rules(), 1);
      const ms = await until('board-side revert of io-error', 15_000, async () => (await rules()) === 0);
      t.diagnostic(
        `heartbeat stopped: the board cleared its io-error rule itself after ${Math.round(ms)} ms (TTL 3 s)`,
      );
      assert.ok(performance.now() - t0 >= 2000, 'not before the TTL ran out');
    } finally {
      dep.startBackground();
      await f.revert();
    }
    assert.equal((await post(edge1, rec())).status, 201);
  });

  it('should cut the power: kill the stack, drop the un-synced writes the layer held, boot again, keep acked writes', async () => {
    const data = dep.board('edge-1').layout.data;
    const acked: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await post(edge1, rec());
      if (r.status === 201) acked.push(r.id);
    }
    await sh(
      'printf volatile > "$1/probe-unsynced"; printf durable > "$1/probe-synced"; sync "$1/probe-synced"',
      data,
    );
    const before0 = await dep.faultSurface().data!.control('edge-1', ['status']);
    assert.ok(
      before0.some((l) => /^unsynced files=[1-9]/.test(l)),
      `the layer holds un-synced writes: ${before0.join('; ')}`,
    );
    const pid = (await sh('cat "$1"', `${dep.board('edge-1').layout.run}/edge-1.pid`)).stdout.trim();
    const f = await applyFault(
      dep,
      { kind: 'power-loss', node: 'edge-1', params: { downFor: '300ms' } },
      registry,
    );
    try {
      assert.notEqual((await sh('kill -0 "$1"', pid)).code, 0, 'the stack process is gone');
      assert.equal(
        (await sh('wc -c < "$1/probe-unsynced"', data)).stdout.trim(),
        '0',
        'the un-synced write is dropped',
      );
      assert.equal((await sh('cat "$1/probe-synced"', data)).stdout, 'durable', 'the synced write is kept');
      await until('the node boots again', 30_000, () => healthy(edge1));
    } finally {
      await f.revert();
    }
    assert.ok(
      (await dep.faultSurface().data!.control('edge-1', ['status'])).includes('unsynced files=0 writes=0'),
      'nothing un-synced after the cut',
    );
    assert.deepEqual(
      await layerOf('edge-1', registry.runId),
      { fuse: 1, tmpfs: 1, procs: 1, sockets: 1 },
      'the layer survived the power cut',
    );
    for (const id of acked)
      assert.equal(await get(edge1, id), 200, `acknowledged ${id} survived the power cut`);
  });

  it('should leave no FUSE mount, tmpfs, ec-fusefs process or socket on the board after teardown', async () => {
    await dep.teardown();
    assert.deepEqual(await layerOf('edge-1', registry.runId), none);
    assert.deepEqual(readdirSync(boards.board('edge-1').dir), [], 'run folder removed');
  });

  it('should revert a disk-full of a kill -9ed inject with cleanup, and remove the whole layer of a kill -9ed harness', async (t) => {
    const env = { ...process.env, EDGECHAOS_STATE_DIR: join(tmp.path, 'cli-state'), EDGECHAOS_LOG: 'warn' };
    mkdirSync(env.EDGECHAOS_STATE_DIR, { recursive: true });
    const cli = (...args: string[]) =>
      run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
        allowFailure: true,
        cwd: repoRoot,
        env,
      });
    const inventory = boards.inventory({ safetyTtl: '60s' });
    const d = await cli('deploy', '--target', 'ssh', '--inventory', inventory, '--nodes', '1', '--json');
    assert.equal(d.code, 0, d.stderr);
    const runId = (JSON.parse(d.stdout) as { runId: string }).runId;
    const backing = `${boards.board('edge-1').dir}/${runId}/data/edge-1.disk`;
    const inBoard = (script: string) =>
      run(
        ['nsenter', '-t', String(boards.board('edge-1').sshd.pid), '-m', 'sh', '-c', script, 'x', backing],
        {
          allowFailure: true,
        },
      );
    try {
      assert.deepEqual(await layerOf('edge-1', runId), { fuse: 1, tmpfs: 1, procs: 1, sockets: 1 });
      const inj = spawn(
        process.execPath,
        [
          join(repoRoot, 'bin/edgechaos.mjs'),
          'inject',
          'disk-full',
          '--node',
          'edge-1',
          '--for',
          '5m',
          '--run',
          runId,
        ],
        { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const gone = new Promise((r) => inj.once('exit', r));
      try {
        assert.ok(await saysApplied(inj), 'the inject applied disk-full');
      } finally {
        inj.kill('SIGKILL');
        await gone;
      }
      assert.equal(
        (await inBoard('df --output=avail -B1 "$1" | tail -n 1')).stdout.trim(),
        '0',
        'full after the kill',
      );
      const c = await cli('cleanup', '--json');
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, /still running/, 'cleanup spared the deployment');
      assert.equal(
        Number((await inBoard('df --output=size -B1 "$1" | tail -n 1')).stdout.trim()),
        64 * 2 ** 20,
        'cleanup gave the disk its size back',
      );
      assert.equal(
        (await inBoard('ls -a "$1" | grep -c "\\.fill$"')).stdout.trim(),
        '0',
        'and removed the fill file',
      );
      assert.deepEqual(
        await layerOf('edge-1', runId),
        { fuse: 1, tmpfs: 1, procs: 1, sockets: 1 },
        'the live layer kept',
      );
      // kill -9 of injects at random moments (around the apply and with the fault in effect), each
      // followed by cleanup: every fault reverted on the board, the live layer untouched
      const tool = `${boards.board('edge-1').dir}/${runId}/bin/ec-fusefs`;
      const faultLeft = async (): Promise<string[]> => {
        const out: string[] = [];
        const size = (await inBoard('df --output=size -B1 "$1" | tail -n 1')).stdout.trim();
        if (Number(size) !== 64 * 2 ** 20) out.push(`disk of ${size} B`);
        const fills = (await inBoard('ls -a "$1" | grep -c "\\.fill$"')).stdout.trim();
        if (fills !== '0') out.push(`${fills} fill files`);
        const st = await run([
          'nsenter',
          '-t',
          String(boards.board('edge-1').sshd.pid),
          '-m',
          tool,
          'ctl',
          `/tmp/ecfs-${runId}-edge-1.sock`,
          'status',
        ]);
        out.push(...st.stdout.split('\n').filter((l) => l.startsWith('rule ')));
        const leasesLeft = readdirSync(`${boards.board('edge-1').dir}/${runId}/leases`).filter((f) =>
          f.endsWith('.lease'),
        );
        if (leasesLeft.length) out.push(`leases ${leasesLeft.join(' ')}`);
        const l = await layerOf('edge-1', runId);
        if (l.fuse !== 1 || l.tmpfs !== 1 || l.procs !== 1 || l.sockets !== 1)
          out.push(`layer ${JSON.stringify(l)}`);
        return out;
      };
      const kinds: [string, string[]][] = [
        ['disk-full', []],
        ['io-error', ['--param', 'op=write']],
        ['power-loss', ['--param', 'downFor=200ms']],
      ];
      const kills = await killInjects(
        kinds,
        { rounds: killsPerKind, args: ['--node', 'edge-1', '--for', '60s', '--run', runId], env },
        async (kind, r, kill) => {
          const sw = await cli('cleanup', '--json');
          assert.equal(sw.code, 0, sw.stderr);
          assert.deepEqual(
            await faultLeft(),
            [],
            `after kill -9 #${kill} (inject ${kind}, ${r.applied ? 'applied' : 'not yet applied'}) + cleanup`,
          );
        },
      );
      t.diagnostic(
        `${kills} kill -9 of inject (disk-full, io-error, power-loss) + cleanup: nothing left on the board`,
      );
    } finally {
      const des = await cli('destroy', '--run', runId, '--json');
      assert.equal(des.code, 0, des.stderr + des.stdout);
    }
    assert.deepEqual(await layerOf('edge-1', runId), none, 'destroy left no mount, layer or socket');

    // a harness holding a deployment (and a partition) killed -9: cleanup removes the layer too
    const held = `sshdatah${process.pid}`;
    await runHolderThenKill({
      inventory,
      runId: held,
      runDir: dirs.runs.path,
      stateDir: dirs.state.path,
      readyMs: 60_000,
    });
    assert.deepEqual(
      await layerOf('edge-1', held),
      { fuse: 1, tmpfs: 1, procs: 1, sockets: 1 },
      'the layer outlived the harness',
    );
    const c0 = performance.now();
    const rep = await sweep({ runId: held, force: true, dir: dirs.state.path });
    t.diagnostic(`cleanup after kill -9 of the harness: ${Math.round(performance.now() - c0)} ms`);
    const mine = rep.runs.find((r) => r.runId === held)!;
    assert.deepEqual(mine.failed, []);
    assert.ok(
      mine.reverted.some((w) => w.startsWith('data disk and fault layer of edge-1')),
      mine.reverted.join('; '),
    );
    assert.deepEqual(await layerOf('edge-1', held), none, 'cleanup left no mount, layer or socket');
    assert.deepEqual(
      readdirSync(boards.board('edge-1').dir).filter((x) => x === held),
      [],
      'run folder removed',
    );
  });
});
