import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyFault } from '../../faults/apply.ts';
import type { FaultSurface, KubeAction } from '../../faults/capabilities.ts';
import { catalogue, planFault, prevalidateFaults } from '../../faults/catalogue.ts';
import { planNeeds, type PlanContext, type ResolvedFault } from '../../faults/types.ts';
import { mergeMetrics as collectMetrics } from '../../src/scoring/merge.ts';
import { thresholdsCheck } from '../../src/campaign/evidence.ts';
import { runExitCode } from '../../src/cli/commands/run.ts';
import type { CheckResult } from '../../src/checks/types.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { UsageError } from '../../src/core/errors.ts';
import { allTargets, checkTargetOptions, targetNames, targetPlugin } from '../../src/targets/registry.ts';

/** Params that make each kind plan (the smallest valid set). */
const sampleParams: Record<string, Record<string, unknown>[]> = {
  latency: [{ latency: '10ms' }],
  bandwidth: [{ rate: '1mbit' }, { rate: '1mbit', via: 'tbf' }],
  slicer: [{}],
  'memory-stress': [{ size: '10MiB' }],
  kill: [{}, { restartAfter: '1s' }],
  'restart-node': [{ downFor: '1s' }],
  loss: [{ percent: 10 }, { percent: 10, burst: '300ms' }],
  'clock-skew': [{ offset: '+300s' }],
};

const ctx: PlanContext = {
  nodes: [
    { name: 'cloud', role: 'cloud', address: '192.0.2.1' },
    { name: 'edge-1', role: 'edge', address: '192.0.2.10' },
  ],
  clientAddresses: ['192.0.2.254'],
  uplinkProxy: (n) => (n === 'cloud' ? undefined : { api: 'http://192.0.2.1:1', proxy: `uplink-${n}` }),
  uplinkDevice: () => 'eth0',
  dataLayer: (n) =>
    n === 'cloud'
      ? undefined
      : { ctl: ['ec-fusefs', 'ctl', 's'], tool: ['ec-fusefs'], backingDir: '/d', sizeBytes: 2 ** 26 },
};

const fault = (kind: string, params: Record<string, unknown>, durationMs?: number): ResolvedFault => ({
  id: 'f1',
  kind,
  node: 'edge-1',
  params,
  seed: 1,
  ...(durationMs === undefined ? {} : { durationMs }),
});

describe('fault capabilities', () => {
  it('should declare every capability a kind’s plans use', () => {
    for (const [kind, k] of Object.entries(catalogue)) {
      for (const params of sampleParams[kind] ?? [{}]) {
        const duration = kind === 'pod-kill' ? undefined : 5000;
        const plan = planFault(fault(kind, params, duration), ctx);
        for (const c of planNeeds(plan))
          assert.ok(
            k.needs.includes(c),
            `${kind} ${JSON.stringify(params)} uses ${c}, not in needs [${k.needs.join(', ')}]`,
          );
      }
    }
  });

  it('should refuse a Kubernetes fault on a target without the kube capability, naming the fault and field', () => {
    assert.throws(
      () =>
        prevalidateFaults(
          [fault('cpu-stress', {}, 1000), { ...fault('drain', {}, 1000), id: 'f2' }],
          ['edge-1'],
          {
            name: 'local',
            capabilities: ['shell', 'stack', 'uplink'],
          },
        ),
      (e: unknown) =>
        e instanceof UsageError &&
        e.field === 'faults[1].kind' &&
        /fault f2 drain acts on Kubernetes: target local has no Kubernetes API/.test(e.message),
    );
    // the same faults on a target that has it
    prevalidateFaults([fault('cpu-stress', {}, 1000), fault('drain', {}, 1000)], ['edge-1'], {
      name: 'kube-local',
      capabilities: ['shell', 'stack', 'uplink', 'kube'],
    });
  });

  it('should refuse a toxic on a target without an uplink proxy, by capability', () => {
    assert.throws(
      () =>
        prevalidateFaults([fault('latency', { latency: '5ms' }, 1000)], ['edge-1'], {
          name: 'x',
          capabilities: ['shell'],
        }),
      /needs a proxy on the edge's uplink \(toxiproxy\), which target x does not have/,
    );
  });

  describe('a Kubernetes fault applied through a fake kube capability', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ec-kube-fault-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('should act on the node, then undo it on revert (and only once)', async () => {
      const log: string[] = [];
      const surface: FaultSurface = {
        target: 'fake',
        nodes: ctx.nodes,
        clientAddresses: ctx.clientAddresses,
        kube: {
          act: (node: string, a: KubeAction) => {
            log.push(`${a.action} ${node}`);
            return Promise.resolve(
              a.action === 'pod-kill'
                ? undefined
                : {
                    what: a.action,
                    revert: () => Promise.resolve(void log.push(`undo ${a.action} ${node}`)),
                  },
            );
          },
        },
      };
      await using reg = CleanupRegistry.open('kube-fault', dir);
      const f = await applyFault(surface, fault('cordon', {}, 1000), reg);
      await applyFault(surface, fault('pod-kill', { workload: 'web' }), reg);
      await f.revert();
      await f.revert();
      assert.deepEqual(log, ['cordon edge-1', 'pod-kill edge-1', 'undo cordon edge-1']);
      await assert.rejects(
        applyFault({ ...surface, kube: undefined }, fault('drain', {}, 1000), reg),
        /target fake lacks the Kubernetes API/,
      );
    });
  });
});

describe('target registry', () => {
  it('should load every target by its name, each declaring what it offers', async () => {
    const all = await allTargets();
    assert.deepEqual(
      all.map((t) => t.name),
      [...targetNames],
    );
    for (const t of all) {
      assert.ok(t.capabilities.length > 0, t.name);
      assert.ok(t.summary.length > 0, t.name);
    }
    assert.ok((await targetPlugin('kube-local')).capabilities.includes('kube'));
    assert.ok(!(await targetPlugin('local')).capabilities.includes('kube'));
  });

  it('should name the targets there are for an unknown one', async () => {
    await assert.rejects(
      targetPlugin('k8s'),
      /unknown target "k8s" \(targets: local, kube-local, kind, kube, ssh\)/,
    );
  });

  it('should reject an option the target does not take', async () => {
    const kind = await targetPlugin('kind');
    assert.throws(
      () => checkTargetOptions(kind, { inventory: 'boards.ts' }),
      /--inventory does not apply to --target kind/,
    );
    checkTargetOptions(kind, { inventory: undefined, 'kind-image': 'kindest/node:x' });
  });
});

describe('metrics of a run', () => {
  const check = (id: string, names: string[]): CheckResult => ({
    id,
    title: id,
    status: 'passed',
    summary: '',
    metrics: Object.fromEntries(names.map((n) => [n, { value: 1, unit: 'ms', source: `check:${id}` }])),
    evidence: {},
  });

  it('should merge the checks’ metrics', () => {
    assert.deepEqual(Object.keys(collectMetrics([check('a', ['x.one']), check('b', ['y.two'])])), [
      'x.one',
      'y.two',
    ]);
  });

  it('should refuse a metric that two checks produce, naming both', () => {
    assert.throws(
      () => collectMetrics([check('startup', ['startup.ms']), check('cold', ['startup.ms'])]),
      /metric startup.ms is produced by two checks: startup and cold/,
    );
  });
});

describe('load thresholds in a run', () => {
  const thresholds = (ok: boolean) => ({
    thresholds: [
      { metric: 'http_req_duration', expression: 'p(95)<200', ok, value: ok ? 150 : 350, abortOnFail: false },
    ],
    metrics: { http_req_duration: { 'p(95)': ok ? 150 : 350, 'p(99)': 400 }, http_reqs: { rate: 75 } },
  });

  it('should fail the load-thresholds check when a threshold failed, and publish the load metrics', () => {
    const c = thresholdsCheck(thresholds(false));
    assert.equal(c.status, 'failed');
    assert.match(c.summary, /1 of 1 threshold\(s\) failed: http_req_duration p\(95\)<200 \(350\)/);
    assert.equal(c.metrics['load.http_req_duration.p95']?.value, 350);
    assert.equal(c.metrics['load.http_reqs.rate']?.value, 75);
    assert.equal(thresholdsCheck(thresholds(true)).status, 'passed');
    assert.equal(thresholdsCheck({ thresholds: [], metrics: {} }).status, 'not-measured');
  });

  it('should exit 99 when only thresholds failed, 1 when anything else failed too', () => {
    const rec = (checks: { id: string; status: 'passed' | 'failed' }[], gatesPassed = true) =>
      ({ checks, gatesPassed: false, score: { gatesPassed } }) as unknown as Parameters<
        typeof runExitCode
      >[0];
    assert.equal(
      runExitCode(
        rec([
          { id: 'load-thresholds', status: 'failed' },
          { id: 'offline', status: 'passed' },
        ]),
      ),
      99,
    );
    assert.equal(
      runExitCode(
        rec([
          { id: 'load-thresholds', status: 'failed' },
          { id: 'offline', status: 'failed' },
        ]),
      ),
      1,
    );
    assert.equal(runExitCode(rec([{ id: 'load-thresholds', status: 'failed' }], false)), 1);
  });
});
