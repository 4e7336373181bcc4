import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { run } from '../../src/core/proc.ts';
import { SIGNAL_POD } from '../../src/targets/kube/cluster-deployment.ts';

/**
 * The fixed script the cluster target runs in a node to signal the agent: run for real against a
 * pod-like cgroup on this machine (cgroup v1 memory hierarchy), with a process of another name and
 * one of the agent's name in it, and one of the agent's name outside it.
 */
describe('cluster node scripts (real cgroups)', () => {
  it('should signal only the named processes inside the pod cgroup and say how many', async () => {
    const uid = `ectest${process.pid}`;
    const pod = `/sys/fs/cgroup/memory/ec-kubepods-pod${uid}`;
    const ctr = `${pod}/ctr1`;
    mkdirSync(ctr, { recursive: true });
    const inside = spawn('sleep', ['30'], { stdio: 'ignore' });
    const other = spawn('tail', ['-f', '/dev/null'], { stdio: 'ignore' });
    const outside = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(`${ctr}/cgroup.procs`, String(inside.pid));
      writeFileSync(`${ctr}/cgroup.procs`, String(other.pid));
      const insideExit = new Promise((r) => inside.once('exit', (_c, sig) => r(sig)));
      const r = await run(['sh', '-c', SIGNAL_POD, uid, 'TERM', 'sleep']);
      assert.equal(r.stdout.trim(), '1');
      assert.equal(await insideExit, 'SIGTERM');
      assert.equal(other.exitCode, null, 'another program in the pod is left alone');
      assert.equal(outside.exitCode, null, 'the same program outside the pod is left alone');
      const missing = await run(['sh', '-c', SIGNAL_POD, 'nosuchpod', 'TERM', 'sleep'], {
        allowFailure: true,
      });
      assert.equal(missing.code, 3, 'no pod cgroup: exit 3');
    } finally {
      for (const p of [inside, other, outside]) p.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      rmdirSync(ctr);
      rmdirSync(pod);
    }
  });
});
