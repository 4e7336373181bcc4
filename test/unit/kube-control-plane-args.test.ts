import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apiserverArgs,
  controllerManagerArgs,
  controlPlaneLayout,
  defaultNodeLossTimings,
  etcdArgs,
  kwokArgs,
  schedulerArgs,
  type ControlPlanePorts,
} from '../../src/control-plane/component-args.ts';
import { kubeconfig, tokenAuthFile } from '../../src/control-plane/kubeconfig.ts';
import { defaultNodes, fakeNode, isNodeHealthy } from '../../src/control-plane/nodes.ts';
import { readKubeLock } from '../../src/control-plane/tools.ts';

const ports: ControlPlanePorts = {
  etcdClient: 1,
  etcdPeer: 2,
  apiserver: 3,
  controllerManager: 4,
  scheduler: 5,
};
const l = controlPlaneLayout('/run/x');
const flag = (argv: string[], name: string): string | undefined =>
  argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

describe('embedded control plane command lines', () => {
  it('should bind every component to loopback only', () => {
    const t = defaultNodeLossTimings;
    const all = [
      ...etcdArgs('etcd', ports, l),
      ...apiserverArgs('hk', ports, l, t),
      ...controllerManagerArgs('hk', ports, l, t),
      ...schedulerArgs('hk', ports, l),
    ];
    for (const a of all.filter((x) => /(address|urls|servers)=/.test(x))) {
      assert.match(a, /=(https?:\/\/)?127\.0\.0\.1(:\d+)?(,|$)|=edgechaos=http:\/\/127\.0\.0\.1/, a);
    }
  });

  it('should pass the node-loss timings to the apiserver, controller-manager and kwok', () => {
    const t = {
      nodeLeaseSeconds: 6,
      nodeMonitorGraceSeconds: 9,
      evictionTolerationSeconds: 1,
      nodeEvictionRate: 0.5,
    };
    const api = apiserverArgs('hk', ports, l, t);
    assert.equal(api[1], 'kube-apiserver');
    assert.equal(flag(api, 'default-unreachable-toleration-seconds'), '1');
    assert.equal(flag(api, 'etcd-servers'), 'http://127.0.0.1:1');
    const cm = controllerManagerArgs('hk', ports, l, t);
    assert.equal(cm[1], 'kube-controller-manager');
    assert.equal(flag(cm, 'node-monitor-grace-period'), '9s');
    assert.equal(flag(cm, 'node-eviction-rate'), '0.5');
    assert.equal(flag(cm, 'leader-elect'), 'false');
    const kwok = kwokArgs('kwok', l, t);
    assert.equal(flag(kwok, 'node-lease-duration-seconds'), '6');
    assert.equal(flag(kwok, 'manage-nodes-with-label-selector'), 'edgechaos.io/kwok=managed');
    assert.equal(schedulerArgs('hk', ports, l)[1], 'kube-scheduler');
  });

  it('should never pass an eviction rate of exactly 1 (the limiter would stay parked after a full disruption)', () => {
    const t = { ...defaultNodeLossTimings, nodeEvictionRate: 1 };
    assert.equal(flag(controllerManagerArgs('hk', ports, l, t), 'node-eviction-rate'), '1.01');
    assert.notEqual(
      flag(controllerManagerArgs('hk', ports, l, defaultNodeLossTimings), 'node-eviction-rate'),
      '1',
    );
  });

  it('should keep every file under the run dir', () => {
    for (const v of [l.etcdData, l.pki, l.tokens, l.saKey, l.kubeconfig('admin'), l.log('etcd')]) {
      assert.ok(v.startsWith('/run/x/'), v);
    }
  });
});

describe('kubeconfig and token file', () => {
  it('should write a kubeconfig whose current context uses the token and the CA', () => {
    const kc = kubeconfig({ server: 'https://127.0.0.1:6443', caPem: 'PEM', user: 'u', token: 't0k' }) as {
      'current-context': string;
      contexts: { name: string }[];
      users: { user: { token: string } }[];
      clusters: { cluster: { 'certificate-authority-data': string } }[];
    };
    assert.equal(kc['current-context'], kc.contexts[0]!.name);
    assert.equal(kc.users[0]!.user.token, 't0k');
    assert.equal(
      Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString(),
      'PEM',
    );
  });

  it('should quote groups in the token auth file', () => {
    assert.equal(
      tokenAuthFile([{ token: 'a', user: 'b', uid: 'c', groups: ['g1', 'g2'] }]),
      'a,b,c,"g1,g2"\n',
    );
  });
});

describe('fake nodes', () => {
  it('should make one cloud node and n-1 edge nodes', () => {
    const n = defaultNodes(4);
    assert.deepEqual(
      n.map((x) => `${x.name}:${x.role}`),
      ['cloud-0:cloud', 'edge-1:edge', 'edge-2:edge', 'edge-3:edge'],
    );
    assert.throws(() => defaultNodes(0), RangeError);
  });

  it('should give a node its role label and its board profile capacity', () => {
    const node = fakeNode({ name: 'edge-1', role: 'edge', profile: 'rpi4' });
    assert.equal(node.metadata?.labels?.['edgechaos.io/role'], 'edge');
    assert.equal(node.metadata?.labels?.['kubernetes.io/arch'], 'arm64');
    assert.deepEqual(node.status?.capacity, { cpu: '4', memory: '4Gi', pods: '32' });
    assert.equal(isNodeHealthy(node), false);
  });

  it('should treat a Ready node with the unreachable taint as unhealthy', () => {
    const node = fakeNode({ name: 'e', role: 'edge', profile: 'rpi4' });
    node.status!.conditions = [{ type: 'Ready', status: 'True' }];
    assert.equal(isNodeHealthy(node), true);
    node.spec!.taints = [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }];
    assert.equal(isNodeHealthy(node), false);
  });
});

describe('tools.lock.json kube entry', () => {
  it('should pin the version the wrapper module requires', async () => {
    const lock = readKubeLock();
    const { readFileSync } = await import('node:fs');
    const gomod = readFileSync(new URL('../../scripts/kube/go.mod', import.meta.url), 'utf8');
    assert.match(gomod, new RegExp(`k8s.io/kubernetes ${lock.version.replace(/\./g, '\\.')}\\n`));
    assert.match(gomod, new RegExp(`go.etcd.io/etcd/server/v3 ${lock.etcd.replace(/\./g, '\\.')}\\n`));
    const staging = lock.version.replace(/^v1\./, 'v0.');
    const replaces = gomod.split('\n').filter((x) => /^\tk8s\.io\/[a-z-]+ => /.test(x));
    assert.ok(replaces.length > 20, 'replace block pins the staging modules');
    for (const line of replaces) assert.ok(line.endsWith(` ${staging}`), line);
  });
});
