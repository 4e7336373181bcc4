import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyFault } from '../../faults/apply.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sleep } from '../../src/core/deadline.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { killInjects, killStage, type KillStage } from '../helpers/cli.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';
import { deliveredUdp } from '../helpers/loss-meter.ts';
import { deployForInject, teardownLocal } from '../helpers/local-target.ts';
import { get, healthy, post, rec, withSlowFsync, writeUntilRefused } from '../helpers/edge-http.ts';

/**
 * The edge faults on a real local deployment: nft numgen loss measured with real packets, the
 * reference agent on a full disk, failing and slow I/O and a power cut through the ec-fusefs layer
 * over its data dir, and `edgechaos cleanup` after kill -9 of `edgechaos inject` mid-fault.
 * EDGECHAOS_TEST_KILLS sets the kills per fault kind (default 3; the issue's full count is 20).
 */
const killsPerKind = Number(process.env['EDGECHAOS_TEST_KILLS'] ?? '3');

describe('edge faults on the local target (nft loss, ec-fusefs disk/io/power faults, cleanup after kill -9)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-faultedge-'));
  const state = join(dir, 'state');
  const runId = `tfe${process.pid}`;
  const savedState = process.env['EDGECHAOS_STATE_DIR'];
  let reg: CleanupRegistry;
  let dep: LocalDeployment;
  let edge1: string;

  before(async () => {
    process.env['EDGECHAOS_STATE_DIR'] = state;
    reg = CleanupRegistry.open(runId, state);
    dep = await deployForInject(['edge-1', 'edge-2'], { runId, dir, registry: reg });
    edge1 = dep.edges.find((e) => e.name === 'edge-1')!.url;
  });
  after(async () => {
    try {
      await teardownLocal(dep, reg, dir);
    } finally {
      if (savedState === undefined) delete process.env['EDGECHAOS_STATE_DIR'];
      else process.env['EDGECHAOS_STATE_DIR'] = savedState;
    }
  });

  /** UDP datagrams from the client side to edge-1, counted by an nft counter after the loss chain. */
  const delivered = (count: number): Promise<number> => deliveredUdp(dep, 'edge-1', reg, count);

  it('should lose the requested share of 10k packets (±2 points), direction-aware, and none once reverted', async (t) => {
    assert.equal(await delivered(10_000), 10_000, 'the measurement itself loses nothing');
    const f = await applyFault(
      dep,
      { kind: 'loss', node: 'edge-1', params: { percent: 20, between: 'client-edge', direction: 'in' } },
      reg,
    );
    let got: number;
    try {
      got = await delivered(10_000);
    } finally {
      await f.revert();
    }
    const lost = 100 - got / 100;
    t.diagnostic(`loss 20% asked: ${lost.toFixed(2)}% of 10k packets lost`);
    assert.ok(Math.abs(lost - 20) <= 2, `lost ${lost.toFixed(2)}% of 10k packets, asked 20%`);
    const out = await applyFault(
      dep,
      { kind: 'loss', node: 'edge-1', params: { percent: 50, between: 'client-edge', direction: 'out' } },
      reg,
    );
    try {
      assert.equal(await delivered(2000), 2000, 'direction=out leaves what the node receives alone');
    } finally {
      await out.revert();
    }
    assert.equal(await delivered(2000), 2000);
  });

  it('should fill the data disk: the agent refuses writes (never 201 without storing), keeps serving reads, recovers', async () => {
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await post(edge1, rec());
      if (r.status === 201) acked.push(r.id);
    }
    const disk = `${dep.local('edge-1').dataDir}.disk`;
    const f = await applyFault(dep, { kind: 'disk-full', node: 'edge-1', params: {} }, reg);
    try {
      const fill = readdirSync(disk).filter((x) => x.endsWith('.fill'));
      assert.equal(fill.length, 1, 'one fill file the fault owns');
      const df = await run(['df', '--output=avail', '-B1', disk]);
      assert.equal(Number(df.stdout.trim().split('\n')[1]), 0, 'no space left on the data disk');
      assert.ok((await writeUntilRefused(edge1, acked)) >= 5, 'writes are refused once the disk is full');
      for (const id of acked.slice(0, 20))
        assert.equal(await get(edge1, id), 200, `read ${id} on a full disk`);
    } finally {
      await f.revert();
    }
    assert.deepEqual(
      readdirSync(disk).filter((x) => x.endsWith('.fill')),
      [],
      'revert deleted the fill file',
    );
    const size = await run(['df', '--output=size', '-B1', disk]);
    assert.equal(
      Number(size.stdout.trim().split('\n')[1]),
      dep.dataLayer('edge-1')!.sizeBytes,
      'revert gave the disk its size back',
    );
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = (await post(edge1, rec())).status === 201;
      if (!ok) await sleep(100);
    }
    assert.ok(ok, 'writes work again once the space is back');
    for (const id of acked)
      assert.equal(await get(edge1, id), 200, `acknowledged ${id} readable after disk-full`);
  });

  it('should fail writes with io-error and slow fsyncs with io-latency, and clear exactly them on revert', async () => {
    const layer = dep.dataLayer('edge-1')!;
    const id = (await post(edge1, rec())).id;
    const e = await applyFault(dep, { kind: 'io-error', node: 'edge-1', params: { op: 'write,fsync' } }, reg);
    try {
      const r = await post(edge1, rec());
      assert.ok(r.status >= 500, `write under io-error answered ${r.status}`);
      assert.equal(await get(edge1, id), 200, 'reads still served');
    } finally {
      await e.revert();
    }
    await withSlowFsync(dep, 'edge-1', reg, edge1, async () => {
      const st = await run([...layer.ctl, 'status']);
      assert.match(st.stdout, /rule io-latency op=fsync prob=1 delay=300ms/);
    });
    const st = await run([...layer.ctl, 'status']);
    assert.doesNotMatch(st.stdout, /^rule /m, 'no rule left after revert');
    assert.match(st.stdout, /injected io-error\.(write|fsync) [1-9]/);
  });

  it('should cut the power: kill every process, drop un-fsynced writes, boot again; the agent keeps every acked write', async () => {
    const n = dep.local('edge-1');
    await dep
      .shell('edge-1')
      .exec([
        'sh',
        '-c',
        'printf volatile > "$1/probe-unsynced"; printf durable > "$1/probe-synced"; sync "$1/probe-synced"',
        'sh',
        n.dataDir,
      ]);
    const acked: string[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await post(edge1, rec());
      if (r.status === 201) acked.push(r.id);
    }
    const pidsBefore = dep.stackPids('edge-1');
    const f = await applyFault(
      dep,
      { kind: 'power-loss', node: 'edge-1', params: { downFor: '300ms' } },
      reg,
    );
    try {
      for (const p of pidsBefore) assert.ok(!running(p), `stack pid ${p} survived the power cut`);
      assert.equal(statSync(join(n.dataDir, 'probe-unsynced')).size, 0, 'the un-synced write is gone');
      assert.equal(
        readFileSync(join(n.dataDir, 'probe-synced'), 'utf8'),
        'durable',
        'the synced write is kept',
      );
      let up = false;
      for (let i = 0; i < 200 && !up; i++) {
        up = await healthy(edge1);
        if (!up) await sleep(50);
      }
      assert.ok(up, 'the node booted again');
    } finally {
      await f.revert();
    }
    for (const id of acked)
      assert.equal(await get(edge1, id), 200, `acknowledged ${id} survived the power cut`);
  });

  /** Alive: in /proc and not a zombie (a zombie is dead, its table entry waits for its parent). */
  function running(pid: number): boolean {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
      return st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }

  /** What a fault could leave behind on the deployment, beyond the deployment's own mounts and layers. */
  async function leftovers(): Promise<string[]> {
    const out: string[] = [];
    const runDir = dep.runDir;
    const mounts = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.includes(runDir));
    if (mounts.length !== 4)
      out.push(`${mounts.length} mounts under the run dir, want 4 (2 disks + 2 layers)`);
    const ps = await run(['ps', '-eo', 'pid=,args=']);
    const fuse = ps.stdout.split('\n').filter((l) => l.includes('ec-fusefs') && l.includes(runDir));
    if (fuse.length !== 2)
      out.push(`${fuse.length} ec-fusefs processes, want the 2 layers: ${fuse.join(' | ')}`);
    // This deployment's helpers only (its sockets, its run dir): other runs on the machine have their own.
    const own = [runDir, ...['edge-1', 'edge-2'].map((e) => dep.dataLayer(e)!.ctl.at(-1)!)];
    const strays = ps.stdout
      .split('\n')
      .filter((l) => / (ctl|full|release) /.test(l) && l.includes('ec-fusefs'))
      .filter((l) => own.some((x) => l.includes(x)));
    if (strays.length) out.push(`stray ec-fusefs helpers: ${strays.join(' | ')}`);
    for (const e of ['edge-1', 'edge-2']) {
      const t = await dep.shell(e).exec(['nft', 'list', 'tables']);
      const extra = t.stdout
        .split('\n')
        .filter(Boolean)
        .filter((l) => l.trim() !== 'table inet ec_acct');
      if (extra.length) out.push(`${e}: nft ${extra.join(', ')}`);
      const disk = `${dep.local(e).dataDir}.disk`;
      const fill = readdirSync(disk).filter((x) => x.endsWith('.fill'));
      if (fill.length) out.push(`${e}: fill files ${fill.join(' ')}`);
      const size = Number((await run(['df', '--output=size', '-B1', disk])).stdout.trim().split('\n')[1]);
      if (size !== dep.dataLayer(e)!.sizeBytes) out.push(`${e}: data disk of ${size} B, not its own size`);
      const st = await run([...dep.dataLayer(e)!.ctl, 'status']);
      const rules = st.stdout.split('\n').filter((l) => l.startsWith('rule '));
      if (rules.length) out.push(`${e}: layer rules ${rules.join('; ')}`);
    }
    const journals = existsSync(state) ? readdirSync(state).filter((x) => x.startsWith('inj-')) : [];
    if (journals.length) out.push(`inject journals left: ${journals.join(' ')}`);
    return out;
  }

  it(`should leave nothing behind after kill -9 of inject mid-fault and edgechaos cleanup (${killsPerKind} random kills per kind)`, async (t) => {
    assert.deepEqual(await leftovers(), [], 'clean before the kills');
    const kinds: [string, string[]][] = [
      ['loss', ['--param', 'percent=30']],
      ['disk-full', []],
      ['io-latency', ['--param', 'op=fsync', '--param', 'delay=50ms']],
      ['io-error', ['--param', 'op=write', '--param', 'prob=0.5']],
      ['power-loss', ['--param', 'downFor=200ms']],
    ];
    const env = { ...process.env, EDGECHAOS_STATE_DIR: state };
    const cli = [join(repoRoot, 'bin/edgechaos.mjs')];
    const stages = new Map(kinds.map(([k]) => [k, new Map<KillStage, number>()]));
    // Every other kill with the fault in effect; the rest around the apply (end of start-up, mid-apply).
    const kills = await killInjects(
      kinds,
      { rounds: killsPerKind, args: ['--node', 'edge-1', '--for', '60s', '--run', runId], env },
      async (kind, r, kill, round) => {
        assert.ok(!/Error|error:/.test(r.out), `inject ${kind} failed before the kill: ${r.out}`);
        if (round % 2 === 0) assert.ok(r.applied, `inject ${kind} applied before kill #${kill}: ${r.out}`);
        const c = await run([process.execPath, ...cli, 'cleanup', '--json'], { env, cwd: repoRoot });
        const rep = JSON.parse(c.stdout) as {
          runs: { runId: string; reverted: string[]; failed: unknown[] }[];
        };
        assert.deepEqual(
          rep.runs.flatMap((r) => r.failed),
          [],
          `cleanup after kill -9 of inject ${kind}`,
        );
        const st = stages.get(kind)!;
        const stage = killStage(r.applied, rep);
        st.set(stage, (st.get(stage) ?? 0) + 1);
        // A power cut killed mid-way leaves the node off, as a real one would: boot it for the next round.
        if (!dep.stackRunning('edge-1')) await dep.startStack('edge-1');
        assert.deepEqual(
          await leftovers(),
          [],
          `leftovers after kill -9 #${kill} (inject ${kind}) + cleanup`,
        );
      },
    );
    assert.equal(kills, killsPerKind * kinds.length);
    for (const [kind, st] of stages)
      t.diagnostic(
        `${kind}: ${[...st.values()].reduce((a, b) => a + b, 0)} kill -9 of inject (${[...st].map(([k, v]) => `${v} ${k}`).join(', ')}), leftovers after cleanup: 0`,
      );
  });
});
