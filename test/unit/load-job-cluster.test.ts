import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { kindConfig } from '../../src/targets/kube/kind.ts';
import { IMAGE_RUNNER, LOAD_RUNNER_IMAGE, mkimageArgs, parseLdd } from '../../src/targets/kube/load-image.ts';
import { revertLoadJob } from '../../src/targets/kube/load-job-cleanup.ts';
import {
  clusterLoadJob,
  LOAD_CONFIGMAP,
  LOAD_TAINT_KEY,
  loadNodeAddresses,
  loadScriptConfigMap,
  podWaitReason,
} from '../../src/targets/kube/load-job.ts';

const node = (name: string, role: string, ip: string): V1Node => ({
  metadata: { name, labels: { 'edgechaos.io/role': role } },
  status: { addresses: [{ type: 'InternalIP', address: ip }] },
});

describe('--load-replicas on a cluster: the Job, its ConfigMap, the load node, the image', () => {
  it('should make an Indexed Job of N pods of the runner image, one segment each, on the load node only', () => {
    const env = { EDGES: '[{"name":"edge-1","url":"http://172.18.0.3:8080"}]', RUN_ID: 'r1' };
    const job = clusterLoadJob('edgechaos-r1', 3, env);
    assert.equal(job.metadata?.namespace, 'edgechaos-r1');
    assert.deepEqual(
      [job.spec?.completions, job.spec?.parallelism, job.spec?.completionMode, job.spec?.backoffLimit],
      [3, 3, 'Indexed', 0],
    );
    const pod = job.spec!.template.spec!;
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.hostNetwork, true, 'the pods reach the agents as the harness does, from the load node');
    assert.deepEqual(pod.nodeSelector, { 'edgechaos.io/role': 'load' });
    assert.deepEqual(pod.tolerations, [{ key: LOAD_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }]);
    const c = pod.containers[0]!;
    assert.equal(c.image, LOAD_RUNNER_IMAGE);
    assert.equal(c.imagePullPolicy, 'Never');
    assert.deepEqual(c.args, [IMAGE_RUNNER, '--stream', '--job-segment', '/script/script.mjs', '/out']);
    // JOB_COMPLETION_INDEX comes from the Job controller; the replica count and the run's env from here
    assert.deepEqual(c.env, [
      { name: 'LOAD_REPLICAS', value: '3' },
      { name: 'EDGES', value: env.EDGES },
      { name: 'RUN_ID', value: 'r1' },
    ]);
    assert.equal(
      pod.volumes?.find((v) => v.name === 'script')?.configMap?.name,
      loadScriptConfigMap('edgechaos-r1', 'x').metadata?.name,
    );
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.runAsNonRoot, true);
    assert.deepEqual(job.spec?.template.metadata?.labels, job.metadata?.labels);
  });

  it('should carry the bundled script as the ConfigMap key the pods mount', () => {
    const cm = loadScriptConfigMap('ns', 'export default 1;');
    assert.equal(cm.metadata?.name, LOAD_CONFIGMAP);
    assert.deepEqual(cm.data, { 'script.mjs': 'export default 1;' });
  });

  it('should take the load nodes’ addresses as client addresses, and say why a pod waits', () => {
    const nodes = [
      node('cp', 'cloud', '172.18.0.2'),
      node('w1', 'edge', '172.18.0.3'),
      node('w3', 'load', '172.18.0.5'),
    ];
    assert.deepEqual(loadNodeAddresses(nodes), ['172.18.0.5']);
    assert.deepEqual(loadNodeAddresses(nodes.slice(0, 2)), []);
    const waiting: V1Pod = {
      status: {
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'load-runner',
            image: LOAD_RUNNER_IMAGE,
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'ErrImageNeverPull', message: 'image not present' } },
          },
        ],
      },
    };
    assert.equal(podWaitReason(waiting), 'ErrImageNeverPull: image not present');
    const unsched: V1Pod = {
      status: {
        phase: 'Pending',
        conditions: [
          { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes' },
        ],
      },
    };
    assert.equal(podWaitReason(unsched), 'Unschedulable: 0/3 nodes');
  });

  it('should add a tainted load worker to the Kind config only when asked', () => {
    const base = kindConfig({ name: 'ec', edgeWorkers: 2 });
    assert.equal(kindConfig({ name: 'ec', edgeWorkers: 2, loadWorker: false }), base);
    assert.doesNotMatch(base, /role: load|containerLogMaxSize/);
    const yaml = kindConfig({ name: 'ec', edgeWorkers: 2, loadWorker: true });
    assert.equal(yaml.match(/- role: worker/g)?.length, 3);
    assert.match(
      yaml,
      / {2}- role: worker\n {4}labels:\n {6}edgechaos\.io\/role: load\n {4}kubeadmConfigPatches:\n {6}- \|\n {8}kind: JoinConfiguration\n {8}nodeRegistration:\n {10}taints:\n {12}- key: edgechaos\.io\/load-runner\n {14}value: "true"\n {14}effect: NoSchedule\n/,
    );
    assert.match(yaml, /\n {4}containerLogMaxSize: 200Mi\n/);
  });

  it('should read ldd: every library at the path the loader resolves, the loader itself, no vdso', () => {
    const out = `	linux-vdso.so.1 (0x00007ffd5c3e4000)
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007fe038dbe000)
	libstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007fe038a00000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007fe03881e000)
	/lib64/ld-linux-x86-64.so.2 (0x00007fe038dd6000)
`;
    assert.deepEqual(
      parseLdd(out).map((f) => f.container),
      [
        '/lib/x86_64-linux-gnu/libdl.so.2',
        '/lib/x86_64-linux-gnu/libstdc++.so.6',
        '/lib/x86_64-linux-gnu/libc.so.6',
        '/lib64/ld-linux-x86-64.so.2',
      ],
    );
    assert.throws(() => parseLdd('\tlibfoo.so.1 => not found\n'), /not found/);
    assert.throws(() => parseLdd('\tgarbage line\n'), /cannot read/);
    assert.deepEqual(parseLdd('\tstatically linked\n'), []);
  });

  it('should give mkimage the node binary, one -file per file and the runner as default argument', () => {
    const args = mkimageArgs('/usr/bin/node', [{ host: '/h/lib.so', container: '/lib/lib.so' }], '/o.tar');
    assert.deepEqual(args, [
      '-name',
      'node',
      '-bin',
      '/usr/bin/node',
      '-arch',
      'amd64',
      '-port',
      '0',
      '-file',
      '/h/lib.so:/lib/lib.so',
      '-cmd',
      '/app/runner.mjs',
      '-out',
      '/o.tar',
      '-tag',
      'edgechaos/load-runner:dev',
    ]);
  });

  it('should let cleanup forget a Job of a Kind cluster that is gone, and keep one of a cluster it cannot reach', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ec-unit-loadjob-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      // a port nothing listens on: connection refused
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
          'users: [{name: u, user: {token: t}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      const entry = {
        kubeconfig,
        namespace: 'ns',
        job: 'edgechaos-load',
        configMap: LOAD_CONFIGMAP,
        selector: 'app=edgechaos-load',
      };
      await revertLoadJob({ ...entry, disposableCluster: true });
      await assert.rejects(revertLoadJob({ ...entry, disposableCluster: false }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
