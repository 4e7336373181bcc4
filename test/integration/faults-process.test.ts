import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyFault } from '../../faults/apply.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sleep } from '../../src/core/deadline.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';
import { deployLocalEdges, teardownLocal } from '../helpers/local-target.ts';

// These tests cover the process runtime (board cgroup.procs hold the agent, `command` overrides);
// the container runtime (--runtime oci, the default for manifests with images) is tested in oci-*.test.ts.
process.env['EDGECHAOS_RUNTIME'] = 'process';

async function healthy(url: string, timeoutMs = 500): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).status === 200;
  } catch {
    return false;
  }
}

async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await cond()) return true;
    await sleep(25);
  }
  return false;
}

/** One state letter per thread of `pid` (R running, S sleeping, T stopped, …), from /proc. */
const threadStates = (pid: number): string =>
  readdirSync(`/proc/${pid}/task`)
    .map((t) => readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8').replace(/^.*\) /s, '')[0])
    .join('');

const procsOf = (cg: string): number[] =>
  readFileSync(`${cg}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);

describe('process and resource faults on the local target (real cgroups, stress-ng, signals)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-faultproc-'));
  const runId = `tfp${process.pid}`;
  let reg: CleanupRegistry;
  let dep: LocalDeployment;

  before(async () => {
    reg = CleanupRegistry.open(runId, join(dir, 'state'));
    dep = await deployLocalEdges(['rpi-zero', 'custom:cpus=0.5,memory=128MiB'], {
      runId,
      dir,
      registry: reg,
    });
  });
  after(async () => {
    await teardownLocal(dep, reg, dir);
  });

  it('should apply the board limits to the edge cgroups', () => {
    const e1 = dep.local('edge-1');
    assert.equal(readFileSync(`${e1.cgroups.cpu}/cpu.cfs_quota_us`, 'utf8').trim(), '25000');
    assert.equal(
      readFileSync(`${e1.cgroups.memory}/memory.limit_in_bytes`, 'utf8').trim(),
      String(256 * 2 ** 20),
    );
    assert.ok(procsOf(e1.cgroups.cpu).length >= 1, 'the agent runs inside its cgroup');
  });

  it('should throttle the node under its CPU quota with cpu-stress, and stop the stress on revert', async () => {
    const cg = dep.local('edge-1').cgroups;
    const before = await dep.stats('edge-1');
    const f = await applyFault(
      dep,
      { kind: 'cpu-stress', node: 'edge-1', durationMs: 5000, params: { workers: 2 } },
      reg,
    );
    let during;
    try {
      await sleep(1200);
      during = await dep.stats('edge-1');
      assert.ok(procsOf(cg.cpu).length > 1, 'stress-ng runs in the node cgroup');
    } finally {
      await f.revert();
    }
    assert.ok(during.throttledSeconds > before.throttledSeconds, 'throttled_time grew');
    assert.ok(during.nrThrottled > before.nrThrottled);
    // 0.25 CPU quota: ~1.2 s of wall time buys at most ~0.3 s + a period of CPU.
    assert.ok(
      during.cpuSeconds - before.cpuSeconds < 0.6,
      `cpu used ${during.cpuSeconds - before.cpuSeconds}`,
    );
    assert.ok(
      await until(() => Promise.resolve(procsOf(cg.cpu).length === 1), 3000),
      'only the agent is left in the cgroup',
    );
    assert.ok(await healthy(dep.local('edge-1').healthUrl, 2000));
  });

  it('should push memory up to the node limit with memory-stress and release it on revert', async () => {
    const cg = dep.local('edge-2').cgroups;
    const f = await applyFault(
      dep,
      { kind: 'memory-stress', node: 'edge-2', durationMs: 5000, params: { size: '60%' } },
      reg,
    );
    try {
      assert.ok(
        await until(async () => (await dep.stats('edge-2')).memoryBytes > 60 * 2 ** 20, 5000),
        'usage rose towards 60% of 128 MiB',
      );
    } finally {
      await f.revert();
    }
    const s = await dep.stats('edge-2');
    assert.ok(s.peakMemoryBytes > 60 * 2 ** 20 && s.peakMemoryBytes <= 128 * 2 ** 20);
    assert.ok(await until(() => Promise.resolve(procsOf(cg.memory).length === 1), 3000), 'stress-ng gone');
  });

  it('should drive the node into its memory limit so the OOM killer acts (an outcome checks can see)', async () => {
    const before = await dep.stats('edge-2');
    const f = await applyFault(
      dep,
      { kind: 'memory-stress', node: 'edge-2', durationMs: 5000, params: { size: '150%', workers: 2 } },
      reg,
    );
    try {
      assert.ok(
        await until(async () => (await dep.stats('edge-2')).oomKills > before.oomKills, 8000),
        'OOM kill seen',
      );
    } finally {
      await f.revert();
    }
    assert.ok((await dep.stats('edge-2')).peakMemoryBytes <= 128 * 2 ** 20, 'never above the limit');
    // If the victim was the agent, the harness sees an unexpected exit; bring it back for the next tests.
    await dep.startStack('edge-2');
  });

  it('should make /healthz fail on kill and recover when the stack restarts', async () => {
    const url = dep.local('edge-2').healthUrl;
    assert.ok(await healthy(url));
    const f = await applyFault(dep, { kind: 'kill', node: 'edge-2', params: { restartAfter: '500ms' } }, reg);
    try {
      assert.equal(await healthy(url), false, 'down right after the kill');
      assert.ok(await until(() => healthy(url), 10_000), 'up again after the delayed restart');
    } finally {
      await f.revert();
    }
    const exits = dep.exits().filter((e) => e.node === 'edge-2' && e.expected);
    assert.equal(exits.length, 1, 'a kill the harness caused is an expected exit');
    assert.equal(exits[0]!.signal, 'SIGKILL');
  });

  it('should restart a killed stack on revert when no restart delay was given', async () => {
    const url = dep.local('edge-2').healthUrl;
    const f = await applyFault(dep, { kind: 'kill', node: 'edge-2', params: {} }, reg);
    await sleep(300);
    assert.equal(await healthy(url), false);
    await f.revert();
    assert.ok(await healthy(url));
  });

  it('should pause the node with the freezer and SIGSTOP, and resume it on revert', async () => {
    const n = dep.local('edge-1');
    for (const method of ['freezer', 'sigstop']) {
      const f = await applyFault(dep, { kind: 'pause', node: 'edge-1', params: { method } }, reg);
      try {
        assert.equal(await healthy(n.healthUrl, 300), false, `${method}: no answer while paused`);
        if (method === 'freezer')
          assert.equal(readFileSync(`${n.cgroups.freezer}/freezer.state`, 'utf8').trim(), 'FROZEN');
      } finally {
        await f.revert();
      }
      assert.ok(await until(() => healthy(n.healthUrl), 3000), `${method}: answers again`);
    }
    assert.equal(readFileSync(`${n.cgroups.freezer}/freezer.state`, 'utf8').trim(), 'THAWED');
  });

  it('should count a SIGSTOP pause applied only once every thread of the stack has stopped', async () => {
    // kill(SIGSTOP) returns before the threads stop: the kernel wakes one to take the stop and the
    // others run on meanwhile, so a request sent then was answered ("sigstop: no answer while
    // paused" flaked). A node under cpu-stress holds that window open: the woken thread waits for
    // its CPU quota (up to a 100 ms period) while stress-ng in the same cgroup spends it.
    const pids = dep.stackPids('edge-1');
    assert.equal(pids.length, 1, 'one stack process (the agent, exec-ed by its wrapper)');
    const stress = await applyFault(dep, { kind: 'cpu-stress', node: 'edge-1', params: { workers: 2 } }, reg);
    try {
      for (let round = 0; round < 10; round++) {
        const f = await applyFault(
          dep,
          { kind: 'pause', node: 'edge-1', params: { method: 'sigstop' } },
          reg,
        );
        let states: string;
        try {
          states = pids.map(threadStates).join('');
        } finally {
          await f.revert();
        }
        assert.match(states, /^T+$/, `round ${round}: thread states when the pause counted as applied`);
      }
    } finally {
      await stress.revert();
    }
    assert.deepEqual(dep.stackPids('edge-1'), pids, 'the same stack process throughout');
    assert.ok(await until(() => healthy(dep.local('edge-1').healthUrl), 3000), 'answers again');
  });

  it('should restart the whole node: every process killed, the stack up again', async () => {
    const n = dep.local('edge-1');
    const stress = await applyFault(
      dep,
      { kind: 'cpu-stress', node: 'edge-1', params: { workers: 1, load: 10 } },
      reg,
    );
    // The helper joins the cgroup from its wrapper a moment after the spawn: wait until it is in there
    // (stress-ng and its worker beside the agent), so the restart has something to kill.
    assert.ok(
      await until(() => Promise.resolve(procsOf(n.cgroups.cpu).length >= 3), 10_000),
      'stress-ng in the cgroup',
    );
    const pidsBefore = dep.stackPids('edge-1');
    const f = await applyFault(
      dep,
      { kind: 'restart-node', node: 'edge-1', params: { downFor: '200ms' } },
      reg,
    );
    try {
      assert.ok(await until(() => healthy(n.healthUrl), 10_000));
      assert.notDeepEqual(dep.stackPids('edge-1'), pidsBefore, 'a new stack process');
      const left = procsOf(n.cgroups.cpu).map((p) =>
        readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' '),
      );
      assert.equal(left.length, 1, `the stress helper died with the node: ${left.join(' | ')}`);
    } finally {
      await f.revert();
      await stress.revert();
    }
  });
});
