import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { TargetError } from '../../src/core/errors.ts';
import { freePort } from '../../src/core/net.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { pidsWithToken, run } from '../../src/core/proc.ts';
import { startControlPlane, type StartedControlPlane } from '../../src/control-plane/control-plane.ts';
import { KubeTarget } from '../../src/targets/kube/target.ts';
import {
  cordon,
  drain,
  killPod,
  overloadDriver,
  OVERLOAD_TAINT,
} from '../../src/targets/kube/node-faults.ts';
import { measureRescheduling } from '../../src/targets/kube/reschedule.ts';
import { tempDir } from '../helpers/temp.ts';

/** The embedded control plane built by `edgechaos bootstrap --kube`; a missing build fails here with the hint. */
describe('embedded Kubernetes control plane + kube target (real etcd, apiserver, controller-manager, scheduler, kwok)', () => {
  const dir = tempDir('kube');
  let reg: CleanupRegistry;
  let cp: StartedControlPlane;
  let target: KubeTarget;

  before(async () => {
    reg = CleanupRegistry.open('test-kube', dir.path);
    cp = await startControlPlane({ nodes: 4, registry: reg, dir: join(dir.path, 'run') });
  });
  after(async () => {
    await cp?.stop();
    await reg?.close();
    dir[Symbol.dispose]();
  });

  it('should serve the API on loopback with every fake node Ready, labelled by role, with its profile capacity', async (t) => {
    t.diagnostic(`control plane with 4 nodes ready in ${cp.readyMs} ms ${JSON.stringify(cp.phases)}`);
    assert.match(cp.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    const nodes = (await cp.kubeConfig().makeApiClient(CoreV1Api).listNode()).items;
    assert.deepEqual(
      nodes.map((n) => `${n.metadata?.name}=${n.metadata?.labels?.['edgechaos.io/role']}`).sort(),
      ['cloud-0=cloud', 'edge-1=edge', 'edge-2=edge', 'edge-3=edge'],
    );
    const edge = nodes.find((n) => n.metadata?.name === 'edge-1')!;
    assert.equal(edge.status?.allocatable?.['cpu'], '4');
    assert.equal(edge.status?.allocatable?.['memory'], '4Gi');
    assert.ok(edge.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  });

  it('should deploy the reference stack with server-side apply and measure pod latency from watch events', async (t) => {
    target = await KubeTarget.connect({ kubeconfig: cp.kubeconfigPath() });
    const d = await target.deploy();
    t.diagnostic(`deploy ready in ${d.readyMs} ms; pod latency ${JSON.stringify(d.podLatency)}`);
    assert.equal(d.namespace, 'edgechaos');
    // 1 hub + 3 edge agents (DaemonSet on edge nodes only) + 6 workload replicas
    assert.equal(d.podLatency.pods, 10);
    assert.equal(d.podLatency.createdToReady.count, 10);
    assert.equal(d.podLatency.perNode['cloud-0'], 1, 'only the hub runs on the cloud node');
    assert.ok(d.podLatency.createdToScheduled.p99 > 0);
    assert.ok(d.podLatency.createdToReady.p99 >= d.podLatency.createdToScheduled.p99);
    // Applying again is a no-op for server-side apply and stays ready.
    const again = await target.deploy();
    assert.equal(again.podLatency.pods, 0, 'no pod was recreated');
  });

  it('should reschedule the workload onto other nodes after a node is lost (3 trials, p50/p99)', async (t) => {
    const r = await measureRescheduling({
      kc: target.kc,
      namespace: target.namespace,
      driver: cp.nodeLossDriver(),
      trials: 3,
    });
    t.diagnostic(
      `rescheduling after node loss (${r.mechanism}): p50 ${r.rescheduled.p50} ms, p99 ${r.rescheduled.p99} ms; detection p50 ${r.detected.p50} ms; trials ${JSON.stringify(r.trials)}`,
    );
    assert.equal(r.trials.length, 3);
    for (const t of r.trials) {
      assert.ok(t.podsOnNode >= 1);
      assert.ok(!t.replacementNodes.includes(t.node), 'replacements are elsewhere');
      assert.ok(
        t.detectedMs !== undefined &&
          t.detectedMs >= (cp.timings.nodeMonitorGraceSeconds - cp.timings.nodeLeaseSeconds / 2) * 1000,
      );
      assert.ok(t.evictedMs !== undefined && t.evictedMs >= t.detectedMs);
      assert.ok(t.rescheduledMs >= t.evictedMs);
    }
    assert.ok(r.rescheduled.p99 >= r.rescheduled.p50);
  });

  it('should reschedule the workload off an overloaded node (NoExecute taint) and remove the taint after', async (t) => {
    const driver = overloadDriver({ registry: reg, kubeconfig: cp.kubeconfigPath() });
    const r = await measureRescheduling({ kc: target.kc, namespace: target.namespace, driver, trials: 2 });
    t.diagnostic(`rescheduling after overload: p50 ${r.rescheduled.p50} ms, p99 ${r.rescheduled.p99} ms`);
    assert.equal(r.trials.length, 2);
    for (const trial of r.trials) assert.ok(!trial.replacementNodes.includes(trial.node));
    const nodes = (await cp.kubeConfig().makeApiClient(CoreV1Api).listNode()).items;
    assert.ok(nodes.every((n) => !(n.spec?.taints ?? []).some((x) => x.key === OVERLOAD_TAINT.key)));
    assert.equal(reg.pending().filter((e) => e.kind === 'kube-taint').length, 0);
  });

  it('should cordon a node, kill a pod, and revert the cordon through the cleanup registry', async () => {
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const handle = await cordon({ registry: reg, kubeconfig: cp.kubeconfigPath() }, 'edge-3');
    assert.equal((await core.readNode({ name: 'edge-3' })).spec?.unschedulable, true);
    const victim = (
      await core.listNamespacedPod({
        namespace: target.namespace,
        labelSelector: 'app.kubernetes.io/name=workload',
      })
    ).items[0]!.metadata!.name!;
    await killPod(cp.kubeconfigPath(), target.namespace, victim);
    await killPod(cp.kubeconfigPath(), target.namespace, victim); // already gone: not an error
    await assert.rejects(
      core.readNamespacedPod({ name: victim, namespace: target.namespace }),
      (e: { code?: number }) => e.code === 404,
    );
    await handle.revert();
    assert.notEqual((await core.readNode({ name: 'edge-3' })).spec?.unschedulable, true);
  });

  it('should drain a node: cordon, evict its workload pods (not DaemonSet pods), uncordon on revert', async () => {
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    const onNode = async (node: string) =>
      (
        await core.listNamespacedPod({ namespace: target.namespace, fieldSelector: `spec.nodeName=${node}` })
      ).items
        .filter((p) => !p.metadata?.deletionTimestamp)
        .map((p) => p.metadata?.labels?.['app.kubernetes.io/name']);
    // wait for a node hosting a workload pod
    let node: string | undefined;
    for (let i = 0; i < 100 && !node; i++) {
      for (const n of ['edge-1', 'edge-2', 'edge-3']) if ((await onNode(n)).includes('workload')) node = n;
      if (!node) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(node, 'a node hosts workload pods');
    const before = (await onNode(node)).filter((n) => n === 'workload').length;
    const { handle, evicted } = await drain({ registry: reg, kubeconfig: cp.kubeconfigPath() }, node);
    assert.equal(evicted, before, 'every workload pod on the node evicted');
    assert.equal((await core.readNode({ name: node })).spec?.unschedulable, true);
    const after = await onNode(node);
    assert.ok(!after.includes('workload'), `no workload pod left on ${node}: ${after.join(',')}`);
    assert.ok(after.includes('edge-agent'), 'the DaemonSet pod stays');
    await handle.revert();
    assert.notEqual((await core.readNode({ name: node })).spec?.unschedulable, true);
  });

  it('should refuse a user without RBAC permissions, naming what is missing, before changing anything', async () => {
    await assert.rejects(
      KubeTarget.connect({ kubeconfig: cp.kubeconfigPath('nobody') }),
      (e: unknown) =>
        e instanceof TargetError &&
        /missing RBAC permissions for kubeconfig user "edgechaos-nobody"/.test(e.message) &&
        /create namespaces \(cluster-wide\)/.test(e.message) &&
        /patch deployments\.apps in namespace edgechaos/.test(e.message),
    );
  });

  it('should give one clear error for a missing or broken kubeconfig and for an unreachable cluster', async () => {
    await assert.rejects(
      KubeTarget.connect({ kubeconfig: join(dir.path, 'nope.kubeconfig') }),
      /kubeconfig not found/,
    );
    const garbage = join(dir.path, 'garbage.kubeconfig');
    writeFileSync(garbage, 'clusters: [ this is not yaml');
    await assert.rejects(KubeTarget.connect({ kubeconfig: garbage }), /kubeconfig cannot be parsed/);
    const empty = join(dir.path, 'empty.kubeconfig');
    writeFileSync(
      empty,
      JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }),
    );
    await assert.rejects(
      KubeTarget.connect({ kubeconfig: empty }),
      /no current context with a cluster server/,
    );
    const port = await freePort();
    const kc = cp.kubeConfig();
    const unreachable = join(dir.path, 'unreachable.kubeconfig');
    writeFileSync(
      unreachable,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'c', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
        ],
        users: [{ name: 'u', user: { token: kc.getCurrentUser()!.token } }],
        contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
        'current-context': 'x',
      }),
    );
    await assert.rejects(
      KubeTarget.connect({ kubeconfig: unreachable }),
      new RegExp(`cluster https://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`),
    );
  });

  it('should tear down by deleting the namespace and waiting until it is gone', async () => {
    await target.teardown();
    const core = cp.kubeConfig().makeApiClient(CoreV1Api);
    await assert.rejects(core.readNamespace({ name: 'edgechaos' }), (e: { code?: number }) => e.code === 404);
  });

  it('should stop every component, leaving no process behind', async () => {
    const tokens = reg
      .pending()
      .map((e) => e.data['token'])
      .filter((t): t is string => typeof t === 'string');
    assert.equal(tokens.length, 5, 'etcd, apiserver, controller-manager, scheduler, kwok are registered');
    await cp.stop();
    assert.deepEqual(
      tokens.flatMap((t) => pidsWithToken(t)),
      [],
    );
    assert.equal(cp.running, false);
  });
});

describe('embedded control plane after kill -9 of the harness', () => {
  it('should be stopped by `edgechaos cleanup`', async () => {
    using state = tempDir('kube-state');
    const runId = `kubekill${process.pid}`;
    const env = { ...process.env, EDGECHAOS_STATE_DIR: state.path };
    const holder = [
      `import { CleanupRegistry } from ${JSON.stringify(join(repoRoot, 'src/core/cleanup/registry.ts'))};`,
      `import { startControlPlane } from ${JSON.stringify(join(repoRoot, 'src/control-plane/control-plane.ts'))};`,
      `const reg = CleanupRegistry.open(${JSON.stringify(runId)});`,
      `await startControlPlane({ nodes: 2, registry: reg });`,
      `console.log('READY ' + JSON.stringify(reg.pending().map((e) => e.data.token).filter(Boolean)));`,
      `setInterval(() => {}, 1000);`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', holder], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let tokens: string[] = [];
    try {
      tokens = await new Promise<string[]>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /READY (.*)\n/.exec(buf);
          if (m) resolve(JSON.parse(m[1]!) as string[]);
        });
        child.on('exit', (c) => reject(new Error(`holder exited early (${c})`)));
        setTimeout(() => reject(new Error('holder not ready in 120 s')), 120_000).unref();
      });
      assert.equal(tokens.length, 5);
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(tokens.flatMap((t) => pidsWithToken(t)).length >= 5, 'components outlived the harness');
      const res = await run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), 'cleanup', '--json'], {
        env,
        cwd: repoRoot,
      });
      const rep = JSON.parse(res.stdout) as { runs: { runId: string; failed: unknown[] }[] };
      const mine = rep.runs.find((r) => r.runId === runId);
      assert.ok(mine, 'cleanup found the run');
      assert.deepEqual(mine.failed, []);
      assert.deepEqual(
        tokens.flatMap((t) => pidsWithToken(t)),
        [],
        'every component was killed',
      );
      assert.deepEqual(
        readdirSync(state.path).filter((f) => f.endsWith('.journal')),
        [],
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      // Whatever happened above, leave nothing running.
      await run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), 'cleanup'], {
        env,
        cwd: repoRoot,
        allowFailure: true,
      });
    }
  });
});

describe('embedded control plane node-lifecycle after every node was lost at once', () => {
  it('should still taint (NoExecute) a node lost after a full disruption ended', async () => {
    using dir = tempDir('kube-disruption');
    const reg = CleanupRegistry.open('test-kube-disruption', dir.path);
    try {
      await using cp = await startControlPlane({ nodes: 3, registry: reg, dir: join(dir.path, 'run') });
      const core = cp.kubeConfig().makeApiClient(CoreV1Api);
      const names = cp.nodes.map((n) => n.name);
      const readyOf = async (name: string): Promise<string | undefined> =>
        (await core.readNode({ name })).status?.conditions?.find((c) => c.type === 'Ready')?.status;
      const until = async (what: string, ok: () => Promise<boolean>, ms: number): Promise<void> => {
        const end = Date.now() + ms;
        while (!(await ok())) {
          if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      const graceMs = cp.timings.nodeMonitorGraceSeconds * 1000;
      // Every node stops at once: the controller enters "master disruption mode" and stops evictions.
      await Promise.all(names.map((n) => cp.loseNode(n)));
      await until(
        'all nodes Unknown',
        async () => (await Promise.all(names.map(readyOf))).every((s) => s === 'Unknown'),
        graceMs + 15_000,
      );
      await Promise.all(names.map((n) => cp.restoreNode(n)));
      // One node lost afterwards must be tainted again (with an eviction rate of exactly 1 it never was).
      await cp.loseNode('edge-1');
      await until(
        'edge-1 tainted unreachable:NoExecute',
        async () =>
          ((await core.readNode({ name: 'edge-1' })).spec?.taints ?? []).some(
            (t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute',
          ),
        graceMs + 15_000,
      );
      await cp.restoreNode('edge-1');
    } finally {
      await reg.close();
    }
  });
});
