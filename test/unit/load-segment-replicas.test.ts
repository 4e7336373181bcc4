import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLoadReplicas } from '../../src/campaign/run.ts';
import { UsageError } from '../../src/core/errors.ts';
import type { Sample } from '../../src/load/types.ts';
import { kindPlugin } from '../../src/targets/kind/plugin.ts';
import { kubeLocalPlugin } from '../../src/targets/kube-local/plugin.ts';
import { mergeSamples } from '../../src/load/job.ts';
import { LOAD_NODE, loadJob } from '../../src/targets/kube-local/load-job.ts';
import { kubePlugin } from '../../src/targets/kube/plugin.ts';
import { localPlugin } from '../../src/targets/local/plugin.ts';
import { sshPlugin } from '../../src/targets/ssh/plugin.ts';

const write = (t: number, id: string): Sample => ({
  type: 'write',
  t,
  tDone: t + 5,
  id,
  node: 'edge-1',
  payloadBytes: 10,
  outcome: 'ok',
  status: 201,
});

describe('--load-replicas: targets, the Job, merged samples', () => {
  it('should refuse targets without a Kubernetes API, naming the option, and take kube-local, kind and kube', () => {
    for (const t of [localPlugin, sshPlugin])
      assert.throws(
        () => checkLoadReplicas(2, t),
        (e: unknown) =>
          e instanceof UsageError &&
          /^no Kubernetes API: --load-replicas needs a Kubernetes target/.test(e.message),
        t.name,
      );
    for (const n of [0, -1, 1.5, Number.NaN])
      assert.throws(() => checkLoadReplicas(n, kubeLocalPlugin), UsageError);
    for (const t of [kubeLocalPlugin, kindPlugin, kubePlugin]) checkLoadReplicas(3, t);
  });

  it('should make an Indexed Job of N pods pinned to the load node, never retried', () => {
    const j = loadJob('ns', 3, 'scenarios/load/steady.ts');
    assert.equal(j.spec?.completions, 3);
    assert.equal(j.spec?.parallelism, 3);
    assert.equal(j.spec?.completionMode, 'Indexed');
    assert.equal(j.spec?.backoffLimit, 0);
    assert.deepEqual(j.spec?.template.spec?.nodeSelector, { 'kubernetes.io/hostname': LOAD_NODE });
  });

  it('should merge segments on the earliest start, in time order, with one start and one end', () => {
    const a: Sample[] = [
      { type: 'start', t: 0, epochMs: 1000, cpuSeconds: 0.1 },
      write(10, 'w-0'),
      write(30, 'w-2'),
      { type: 'end', t: 40, cpuSeconds: 1 },
    ];
    const b: Sample[] = [
      { type: 'start', t: 0, epochMs: 1005, cpuSeconds: 0.2 },
      write(10, 'w-1'),
      { type: 'end', t: 50, cpuSeconds: 2 },
    ];
    const m = mergeSamples([a, b]);
    const start = m[0]!;
    assert.ok(start.type === 'start' && start.epochMs === 1000, 'the earliest start is the clock');
    assert.ok(Math.abs((start.cpuSeconds ?? 0) - 0.3) < 1e-9, 'runner CPU adds up');
    assert.deepEqual(
      m.slice(1, -1).map((s) => (s.type === 'write' ? [s.id, s.t, s.tDone] : [])),
      [
        ['w-0', 10, 15],
        ['w-1', 15, 20],
        ['w-2', 30, 35],
      ],
    );
    assert.deepEqual(m.at(-1), { type: 'end', t: 55, cpuSeconds: 3 });
  });
});
