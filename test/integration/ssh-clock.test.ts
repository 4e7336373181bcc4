import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyFault } from '../../faults/apply.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sweep } from '../../src/core/cleanup/sweep.ts';
import { run } from '../../src/core/proc.ts';
import { loadStack, type StackManifest } from '../../src/stack/manifest.ts';
import type { SshDeployment } from '../../src/targets/ssh/deployment.ts';
import { loadInventory } from '../../src/targets/ssh/inventory.ts';
import '../../src/targets/ssh/reverters.ts';
import { SshTarget } from '../../src/targets/ssh/target.ts';
import { startBoards, type Boards } from '../fixtures/ssh/boards.ts';
import { tempDir } from '../helpers/temp.ts';
import { offsetsOf, uptimeSecs as uptime } from '../helpers/timens.ts';

/**
 * clock-skew on boards over SSH (emulated: a network namespace and a real sshd each): the edge's
 * stack restarted on the board inside a time namespace with its monotonic/boot clocks offset,
 * journaled and armed on the board first; reverted by the harness, by the board's own safety timer
 * when the heartbeat stops, and by cleanup from the journal alone; refused before anything changes
 * on a deployment whose board has no time namespaces.
 */

async function until(what: string, ms: number, probe: () => Promise<boolean> | boolean): Promise<number> {
  const t0 = performance.now();
  while (!(await probe())) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - t0;
}

describe('clock-skew on the ssh target (emulated boards, real sshd)', () => {
  let boards: Boards;
  let stack: StackManifest;
  let dep: SshDeployment;
  let registry: CleanupRegistry;
  const state = tempDir('ssh-clock-state');
  const runs = tempDir('ssh-clock-runs');
  const saved = process.env['EDGECHAOS_STATE_DIR'];
  let edge1 = '';

  before(async () => {
    process.env['EDGECHAOS_STATE_DIR'] = state.path;
    boards = await startBoards(['cloud', 'edge-1']);
    stack = await loadStack();
    const inv = await loadInventory(boards.inventory({ safetyTtl: '3s' }));
    registry = CleanupRegistry.open(`sshclk${process.pid}`);
    dep = await new SshTarget(inv).deploy(
      stack,
      { edges: [{ name: 'edge-1' }] },
      { runId: registry.runId, runDir: runs.path, registry },
    );
    edge1 = dep.edges[0]!.url;
  });
  after(async () => {
    try {
      await dep?.teardown();
      await registry?.close();
      await boards?.[Symbol.asyncDispose]();
    } finally {
      if (saved === undefined) delete process.env['EDGECHAOS_STATE_DIR'];
      else process.env['EDGECHAOS_STATE_DIR'] = saved;
      state[Symbol.dispose]();
      runs[Symbol.dispose]();
    }
  });

  const base = (): string => join(boards.board('edge-1').dir, registry.runId);
  /** Every process in the edge's node cgroup on the board, with its time offsets. */
  const nodeProcs = (): { pid: number; off: { monotonic: number; boottime: number } }[] =>
    readFileSync(`/sys/fs/cgroup/memory/ec-${registry.runId}-edge-1/cgroup.procs`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((p) => ({ pid: Number(p), off: offsetsOf(Number(p)) }))
      .filter((p): p is { pid: number; off: { monotonic: number; boottime: number } } => !!p.off);
  const skewed = (): number[] =>
    nodeProcs()
      .filter((p) => p.off.monotonic !== 0 || p.off.boottime !== 0)
      .map((p) => p.pid);
  const agentPid = (): number => Number(readFileSync(join(base(), 'run', 'edge-1.pid'), 'utf8'));
  const leases = (): string[] => readdirSync(join(base(), 'leases')).filter((f) => f.endsWith('.lease'));
  const healthy = (): Promise<boolean> =>
    fetch(`${edge1}/healthz`, { signal: AbortSignal.timeout(500) }).then(
      (r) => r.status === 200,
      () => false,
    );
  /** /proc/uptime (CLOCK_BOOTTIME) read inside the agent's time namespace, and the host's. */
  async function uptimes(): Promise<{ node: number; host: number }> {
    const inside = await run(['nsenter', '--target', String(agentPid()), '--time', 'cat', '/proc/uptime']);
    return { node: uptime(inside.stdout), host: uptime(readFileSync('/proc/uptime', 'utf8')) };
  }

  it('should restart the board stack with its clocks +300s, journaled and armed first, until revert', async (t) => {
    const before0 = agentPid();
    assert.deepEqual(skewed(), [], 'nothing skewed before');
    const f = await applyFault(
      dep,
      { kind: 'clock-skew', node: 'edge-1', params: { offset: '+300s' } },
      registry,
    );
    t.diagnostic(`clock-skew applied over ssh in ${f.applyMs.toFixed(0)} ms`);
    const id = `sshclk-${process.pid}`;
    try {
      assert.notEqual(agentPid(), before0, 'the stack was restarted');
      assert.deepEqual(offsetsOf(agentPid()), { monotonic: 300, boottime: 300 });
      const u = await uptimes();
      assert.ok(Math.abs(u.node - u.host - 300) < 2, `skewed by ${u.node - u.host}s, asked 300s`);
      assert.equal(leases().length, 1, 'the undo is armed on the board');
      assert.ok(
        registry.pending().some((e) => e.kind === 'ssh-exec' && /skewed time namespace/.test(e.what)),
        'the undo is journaled',
      );
      const w = await fetch(`${edge1}/v1/records`, {
        method: 'POST',
        body: JSON.stringify({ id, ts: Date.now(), payload: {} }),
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(w.status, 201, 'the skewed stack serves writes');
    } finally {
      await f.revert();
    }
    assert.deepEqual(skewed(), [], 'no skewed process after revert');
    assert.deepEqual(offsetsOf(agentPid()), { monotonic: 0, boottime: 0 }, 'restarted unskewed');
    assert.equal(leases().length, 0, 'disarmed');
    assert.ok(await healthy());
    assert.equal((await fetch(`${edge1}/v1/records/${id}`)).status, 200, 'the skewed write is kept');
    assert.equal(
      dep.exits().filter((e) => e.node === 'edge-1' && !e.expected).length,
      0,
      'the restarts are expected exits, not crashes',
    );
  });

  it("should be reverted by the board's own safety timer when the heartbeat stops", async (t) => {
    const f = await applyFault(
      dep,
      { kind: 'clock-skew', node: 'edge-1', params: { offset: '-2h' } },
      registry,
    );
    try {
      assert.deepEqual(offsetsOf(agentPid()), { monotonic: -7200, boottime: -7200 });
      dep.stopHeartbeat();
      const t0 = performance.now();
      const ms = await until('board-side revert', 15_000, () => skewed().length === 0);
      t.diagnostic(
        `heartbeat stopped: the board killed its skewed stack itself after ${Math.round(ms)} ms (TTL 3 s)`,
      );
      assert.ok(performance.now() - t0 >= 2000, 'not before the TTL ran out');
      // the board notes what it ran once its undo has ended (its last round comes after the kill)
      const notes = (): string[] =>
        readdirSync(join(base(), 'leases')).filter((x) => x.endsWith('.reverted'));
      await until('the board notes its revert', 5000, () => notes().length > 0);
      assert.equal(notes().length, 1);
      assert.match(readFileSync(join(base(), 'leases', notes()[0]!), 'utf8'), /exit 0: sh -c/);
    } finally {
      dep.startBackground();
      await f.revert();
    }
    assert.ok(await healthy(), 'the harness revert (already done on the board) started it unskewed');
    assert.deepEqual(offsetsOf(agentPid()), { monotonic: 0, boottime: 0 });
  });

  it('should be reverted by cleanup from the journal alone (the inject process gone)', async () => {
    // as `edgechaos inject` does: the fault in its own journal, which a crashed inject leaves behind
    const inj = CleanupRegistry.open(`injclk${process.pid}`);
    await applyFault(dep, { kind: 'clock-skew', node: 'edge-1', params: { offset: '+600s' } }, inj);
    assert.ok(skewed().length > 0);
    const rep = await sweep({ runId: inj.runId, force: true, dir: state.path });
    const mine = rep.runs.find((r) => r.runId === inj.runId)!;
    assert.deepEqual(mine.failed, []);
    assert.ok(
      mine.reverted.some((w) => /skewed time namespace/.test(w)),
      mine.reverted.join('; '),
    );
    assert.deepEqual(skewed(), [], 'no skewed process left');
    assert.equal(leases().length, 0, 'the board timer is disarmed');
    await inj.close();
    await dep.pollExits();
    await dep.startStack('edge-1');
    assert.deepEqual(offsetsOf(agentPid()), { monotonic: 0, boottime: 0 });
  });

  it('should refuse clock-skew before anything changes where a board has no time namespaces', async () => {
    const b = dep.board('edge-1');
    const pid = agentPid();
    const had = b.facts.timens;
    b.facts.timens = false; // as preflight reports a board without CONFIG_TIME_NS
    try {
      await assert.rejects(
        applyFault(dep, { kind: 'clock-skew', node: 'edge-1', params: { offset: '+60s' } }, registry),
        /clock-skew: target ssh lacks a time namespace .*refused before anything changed/,
      );
    } finally {
      b.facts.timens = had;
    }
    assert.equal(agentPid(), pid, 'the stack was not touched');
    assert.ok(await healthy());
    assert.equal(leases().length, 0);
  });
});
