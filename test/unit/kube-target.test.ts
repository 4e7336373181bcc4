import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApiException, type V1Pod } from '@kubernetes/client-node';
import { ScenarioError, TargetError } from '../../src/core/errors.ts';
import { explainKubeError } from '../../src/targets/kube/errors.ts';
import { loadManifests, manifestNamespace, prepareManifests } from '../../src/targets/kube/manifests.ts';
import type { TimedEvent } from '../../src/targets/kube/object-store.ts';
import { podLatency, podTimelines, quantiles } from '../../src/targets/kube/pod-latency.ts';
import { OVERLOAD_TAINT } from '../../src/targets/kube/node-faults.ts';
import { pickVictim, replicasReadyElsewhere } from '../../src/targets/kube/reschedule.ts';
import { registerKubeReverters, withTaint } from '../../src/targets/kube/reverters.ts';
import { daemonSetReady, deploymentReady } from '../../src/targets/kube/target.ts';
import { tempDir } from '../helpers/temp.ts';

function pod(name: string, node?: string, ready = false, deleting = false): V1Pod {
  return {
    metadata: { name, uid: `uid-${name}`, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { containers: [], ...(node ? { nodeName: node } : {}) },
    status: { conditions: ready ? [{ type: 'Ready', status: 'True' }] : [] },
  };
}

describe('stack/deploy manifests', () => {
  it('should hold the namespace, hub Deployment+Service, edge DaemonSet and workload Deployment', () => {
    const objs = loadManifests();
    assert.deepEqual(
      objs.map((o) => `${o.kind}/${o.metadata?.name}`),
      [
        'Namespace/edgechaos',
        'Deployment/cloud-hub',
        'Service/cloud-hub',
        'DaemonSet/edge-agent',
        'Deployment/workload',
      ],
    );
    assert.equal(manifestNamespace(objs), 'edgechaos');
  });

  it('should rename the namespace, set the scheduler on the workload only, and swap images', () => {
    const objs = prepareManifests(loadManifests(), {
      namespace: 'run-1',
      schedulerName: 'edge-scheduler',
      images: { 'edgechaos/edge-agent': 'registry.local/edge-agent' },
    });
    assert.equal(manifestNamespace(objs), 'run-1');
    assert.ok(objs.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata?.namespace === 'run-1'));
    type Tpl = { spec: { template: { spec: { schedulerName?: string; containers: { image: string }[] } } } };
    const get = (kind: string, name: string): Tpl =>
      objs.find((o) => o.kind === kind && o.metadata?.name === name) as unknown as Tpl;
    assert.equal(get('Deployment', 'workload').spec.template.spec.schedulerName, 'edge-scheduler');
    assert.equal(get('Deployment', 'cloud-hub').spec.template.spec.schedulerName, undefined);
    assert.equal(
      get('DaemonSet', 'edge-agent').spec.template.spec.containers[0]!.image,
      'registry.local/edge-agent:dev',
    );
    assert.equal(
      get('Deployment', 'cloud-hub').spec.template.spec.containers[0]!.image,
      'edgechaos/cloud-hub:dev',
    );
    // the loaded objects are untouched
    assert.equal(manifestNamespace(loadManifests()), 'edgechaos');
  });

  it('should name the file of a manifest without a kind', () => {
    using dir = tempDir('manifests');
    writeFileSync(join(dir.path, 'bad.yaml'), 'apiVersion: v1\nmetadata: { name: x }\n');
    assert.throws(
      () => loadManifests(dir.path),
      (e: unknown) => e instanceof ScenarioError && e.file === join(dir.path, 'bad.yaml'),
    );
  });
});

describe('pod latency from watch events', () => {
  it('should time created → scheduled → ready per pod in milliseconds and skip pods created before the watch', () => {
    const ev = (type: TimedEvent<V1Pod>['type'], p: V1Pod, at: number): TimedEvent<V1Pod> => ({
      type,
      object: p,
      at,
    });
    const events = [
      ev('ADDED', pod('a'), 1000.5),
      ev('ADDED', pod('old', 'n1', true), 1001),
      ev('MODIFIED', pod('a', 'n1'), 1012.5),
      ev('ADDED', pod('b'), 1003),
      ev('MODIFIED', pod('b', 'n2'), 1020),
      ev('MODIFIED', pod('a', 'n1', true), 1050.5),
      ev('MODIFIED', pod('b', 'n2', true), 1103),
    ];
    const tl = podTimelines(events);
    assert.deepEqual(
      tl.map((t) => [t.name, t.node, t.scheduled! - t.created, t.ready! - t.created]),
      [
        ['a', 'n1', 12, 50],
        ['b', 'n2', 17, 100],
      ],
    );
    const lat = podLatency(tl);
    assert.equal(lat.pods, 2);
    assert.equal(lat.createdToReady.p50, 50);
    assert.equal(lat.createdToReady.p99, 100);
    assert.deepEqual(lat.perNode, { n1: 1, n2: 1 });
  });

  it('should compute nearest-rank quantiles', () => {
    const q = quantiles(Array.from({ length: 100 }, (_, i) => i + 1));
    assert.deepEqual(q, { count: 100, p50: 50, p99: 99, max: 100 });
    assert.deepEqual(quantiles([]), { count: 0, p50: 0, p99: 0, max: 0 });
  });
});

describe('rescheduling', () => {
  const pods = [pod('w1', 'e1', true), pod('w2', 'e1', true), pod('w3', 'e2', true), pod('w4', 'e3', false)];

  it('should pick the candidate node hosting the most Ready pods, avoiding the last victim on a tie', () => {
    assert.deepEqual(pickVictim(pods, ['e1', 'e2', 'e3']), { node: 'e1', pods: 2 });
    assert.deepEqual(pickVictim(pods, ['e2', 'e3']), { node: 'e2', pods: 1 });
    const tie = [pod('a', 'e1', true), pod('b', 'e2', true)];
    assert.equal(pickVictim(tie, ['e1', 'e2'], 'e1')?.node, 'e2');
    assert.equal(pickVictim(pods, ['x']), undefined);
  });

  it('should count only Ready, non-terminating replicas off the lost node', () => {
    assert.equal(replicasReadyElsewhere(pods, 'e1', 2), false);
    const after = [...pods, pod('w5', 'e2', true), pod('w6', 'e3', true, true)];
    assert.equal(replicasReadyElsewhere(after, 'e1', 2), true);
    assert.equal(replicasReadyElsewhere(after, 'e1', 3), false);
  });
});

describe('workload readiness', () => {
  it('should need the observed generation and every replica updated and ready', () => {
    const d = { metadata: { generation: 2 }, spec: { replicas: 3, selector: {}, template: {} } };
    assert.equal(
      deploymentReady({
        ...d,
        status: { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3 },
      }),
      false,
    );
    assert.equal(
      deploymentReady({
        ...d,
        status: { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3 },
      }),
      true,
    );
    assert.equal(
      deploymentReady({
        ...d,
        status: { observedGeneration: 2, replicas: 4, updatedReplicas: 3, readyReplicas: 3 },
      }),
      false,
    );
    const base = { metadata: { generation: 1 }, spec: { selector: {}, template: {} } };
    const ds = (numberReady: number) => ({
      ...base,
      status: {
        observedGeneration: 1,
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberMisscheduled: 0,
        numberReady,
        updatedNumberScheduled: 3,
      },
    });
    assert.equal(daemonSetReady(ds(2)), false);
    assert.equal(daemonSetReady(ds(3)), true);
  });
});

describe('kube errors', () => {
  const server = 'https://10.0.0.1:6443';

  it('should say the cluster is unreachable for a refused connection', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const e = explainKubeError(new Error('request failed', { cause }), 'reach the cluster', server);
    assert.ok(e instanceof TargetError);
    assert.match(
      e.message,
      /reach the cluster: cluster https:\/\/10\.0\.0\.1:6443 is unreachable \(ECONNREFUSED\)/,
    );
  });

  it('should say which permission is missing on a 403 and that credentials were rejected on a 401', () => {
    const body = JSON.stringify({
      message: 'namespaces is forbidden: User "x" cannot create resource "namespaces"',
    });
    assert.match(
      explainKubeError(new ApiException(403, 'Forbidden', body, {}), 'apply Namespace edgechaos', server)
        .message,
      /missing RBAC permission \(403 Forbidden\): namespaces is forbidden: User "x" cannot create/,
    );
    assert.match(
      explainKubeError(new ApiException(401, 'Unauthorized', '', {}), 'list', server).message,
      /credentials rejected/,
    );
  });

  it('should point at the CA data for an untrusted certificate', () => {
    const e = explainKubeError(
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      'x',
      server,
    );
    assert.match(e.message, /TLS to https:\/\/10\.0\.0\.1:6443 failed \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
  });
});

describe('node taints', () => {
  it('should add the overload taint once and remove only it', () => {
    const node = {
      spec: { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] },
    };
    const once = withTaint(node, OVERLOAD_TAINT, true);
    const twice = withTaint({ spec: { taints: once } }, OVERLOAD_TAINT, true);
    assert.deepEqual(twice, once);
    assert.equal(once.length, 2);
    assert.deepEqual(withTaint({ spec: { taints: once } }, OVERLOAD_TAINT, false), node.spec.taints);
  });
});

describe('kube cleanup kinds', () => {
  it('should register reverters for cordon, taint and Kind clusters', async () => {
    const { reverterFor } = await import('../../src/core/cleanup/reverters.ts');
    registerKubeReverters();
    for (const kind of ['kube-cordon', 'kube-taint', 'kind-cluster'])
      assert.equal(typeof reverterFor(kind), 'function');
  });
});
