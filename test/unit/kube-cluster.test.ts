import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1DaemonSet, V1Node, V1Pod } from '@kubernetes/client-node';
import { imageSize } from '../../src/images/archive.ts';
import { loadManifests, prepareManifests } from '../../src/targets/kube/manifests.ts';
import {
  buildUplinkImage,
  UPLINK_IMAGE,
  UPLINK_LISTEN,
  uplinkDaemonSet,
} from '../../src/targets/kube/uplink.ts';
import { prevalidateFaults } from '../../faults/catalogue.ts';
import { targetRequest } from '../../src/campaign/run.ts';
import type { Plan, PlannedFault } from '../../src/campaign/plan.ts';
import {
  checkRescheduling,
  checkSchedulingBench,
  checkSchedulingLatency,
} from '../../src/checks/scheduling.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import type { RunResult } from '../../src/core/proc.ts';
import {
  accountingScript,
  currentAgentPod,
  mapNodes,
  parseCgroupStats,
  parseCounters,
  podCgroupReader,
  readPodStats,
} from '../../src/targets/kube/cluster-deployment.ts';
import { DockerNodeShell, type DockerExecutor } from '../../src/targets/kube/docker-shell.ts';
import { containerNodeLoss, ipv4Gateway } from '../../src/targets/kube/kind.ts';
import { tempDir } from '../helpers/temp.ts';

const node = (name: string, role: string, ip?: string): V1Node => ({
  metadata: { name, labels: { 'edgechaos.io/role': role } },
  status: ip ? { addresses: [{ type: 'InternalIP', address: ip }] } : {},
});

function recorder(stdout = ''): DockerExecutor & { calls: { argv: string[]; input?: string }[] } {
  const calls: { argv: string[]; input?: string }[] = [];
  const exec: DockerExecutor = (argv, opts) => {
    calls.push({ argv: [...argv], ...(opts?.input !== undefined ? { input: opts.input } : {}) });
    return Promise.resolve({ code: 0, signal: null, stdout, stderr: '' } satisfies RunResult);
  };
  return Object.assign(exec, { calls });
}

describe('cluster deployment (Kind/k3d nodes as containers): pure parts and the commands it runs', () => {
  it('should map cloud and edge-N onto the cluster nodes by role label, then name', () => {
    const nodes = [
      node('kind-worker2', 'edge', '172.18.0.4'),
      node('kind-control-plane', 'cloud', '172.18.0.2'),
      node('kind-worker', 'edge', '172.18.0.3'),
    ];
    assert.deepEqual(mapNodes(nodes, ['edge-1', 'edge-2']), [
      { name: 'cloud', role: 'cloud', k8s: 'kind-control-plane', address: '172.18.0.2' },
      { name: 'edge-1', role: 'edge', k8s: 'kind-worker', address: '172.18.0.3' },
      { name: 'edge-2', role: 'edge', k8s: 'kind-worker2', address: '172.18.0.4' },
    ]);
    assert.throws(
      () => mapNodes(nodes, ['edge-1', 'edge-2', 'edge-3']),
      /3 edge nodes but the cluster has 2/,
    );
    assert.throws(
      () => mapNodes([node('a', 'edge', '1.2.3.4')], ['edge-1']),
      /no node labelled edgechaos.io\/role=cloud/,
    );
    assert.throws(
      () => mapNodes([node('c', 'cloud'), node('e', 'edge', '10.0.0.2')], ['edge-1']),
      /node c reports no InternalIP/,
    );
  });

  it('should count uplink bytes with an nft table and read its counters', () => {
    const script = accountingScript('ec_r1_acct', '172.18.0.2', 7000);
    // the hub's port only: the cloud node is also the control plane (kubelet ↔ API server traffic)
    assert.match(script, /ip daddr 172\.18\.0\.2 tcp dport 7000 counter name up/);
    assert.match(script, /ip saddr 172\.18\.0\.2 tcp sport 7000 counter name down/);
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { counter: { family: 'inet', name: 'up', table: 'ec_r1_acct', packets: 3, bytes: 1500 } },
        { counter: { family: 'inet', name: 'down', table: 'ec_r1_acct', packets: 2, bytes: 120 } },
      ],
    });
    assert.deepEqual(parseCounters(json), { sent: 1500, received: 120 });
  });

  it('should read the pod cgroup (v2) files into node stats', () => {
    const s = parseCgroupStats(
      [
        '7340032',
        '9437184',
        'usage_usec 2500000',
        'user_usec 2000000',
        'nr_throttled 4',
        'throttled_usec 300000',
        'low 0',
        'oom_kill 1',
      ].join('\n'),
    );
    assert.equal(s.memoryBytes, 7340032);
    assert.equal(s.peakMemoryBytes, 9437184);
    assert.equal(s.cpuSeconds, 2.5);
    assert.equal(s.throttledSeconds, 0.3);
    assert.equal(s.nrThrottled, 4);
    assert.equal(s.oomKills, 1);
  });

  it('should read the new pod when a lost node came back with its agent replaced; a pod not there is no sample', async () => {
    // the node answers as a Kind node does: the old pod's cgroup is gone (exit 3), the new pod's is there
    const cgroups = new Map([['new_uid', '7340032\n9437184\nusage_usec 2500000\n']]);
    const calls: string[][] = [];
    const exec: DockerExecutor = (argv) => {
      calls.push([...argv]);
      const out = cgroups.get(argv.at(-1)!);
      return Promise.resolve({
        code: out === undefined ? 3 : 0,
        signal: null,
        stdout: out ?? '',
        stderr: '',
      });
    };
    const read = podCgroupReader(new DockerNodeShell('edge-2', 'kind-worker2', exec));
    let resolved = 0;
    const now = (uid: string | undefined) => () => (resolved++, Promise.resolve(uid));

    const s = await readPodStats('old_uid', now('new_uid'), read);
    assert.equal(s?.memoryBytes, 7340032);
    assert.equal(s?.cpuSeconds, 2.5);
    assert.deepEqual(
      calls.map((c) => [c[2], c.at(-1)]),
      [
        ['kind-worker2', 'old_uid'],
        ['kind-worker2', 'new_uid'],
      ],
    );
    assert.equal(resolved, 1, 're-resolved once, after the old cgroup was not found');

    // the cached pod is read: no API call
    resolved = 0;
    assert.equal((await readPodStats('new_uid', now('other'), read))?.memoryBytes, 7340032);
    assert.equal(resolved, 0);
    // the pod is gone (node lost), or the current one has no cgroup yet: no sample, no failure
    assert.equal(await readPodStats('old_uid', now(undefined), read), undefined);
    assert.equal(await readPodStats('old_uid', now('old_uid'), read), undefined);
    assert.equal(await readPodStats('old_uid', now('pending_uid'), read), undefined);
    assert.equal(await readPodStats(undefined, now('new_uid'), read).then((x) => x?.memoryBytes), 7340032);

    // anything else still fails loudly
    const broken: DockerExecutor = () =>
      Promise.resolve({
        code: 1,
        signal: null,
        stdout: '',
        stderr: 'Error: container kind-worker2 is not running',
      });
    const readBroken = podCgroupReader(new DockerNodeShell('edge-2', 'kind-worker2', broken));
    await assert.rejects(readPodStats('old_uid', now('new_uid'), readBroken), /exit 1.*is not running/);
  });

  it("should pick the node's current agent pod: not a deleted or Failed one, a Running one first, then the newest", () => {
    const pod = (
      uid: string,
      phase: string,
      created: string,
      extra: Partial<V1Pod['metadata']> = {},
    ): V1Pod => ({
      metadata: {
        uid,
        creationTimestamp: new Date(created),
        labels: { 'app.kubernetes.io/name': 'edge-agent' },
        ...extra,
      },
      spec: { nodeName: 'kind-worker2', containers: [] },
      status: { phase },
    });
    const old = pod('old', 'Failed', '2026-01-01T00:00:00Z'); // rejected by its kubelet when the node came back
    const gone = pod('gone', 'Running', '2026-01-01T00:00:01Z', { deletionTimestamp: new Date() });
    const pending = pod('pending', 'Pending', '2026-01-01T00:00:03Z');
    const running = pod('running', 'Running', '2026-01-01T00:00:02Z');
    const elsewhere = {
      ...pod('elsewhere', 'Running', '2026-01-01T00:00:04Z'),
      spec: { nodeName: 'kind-worker', containers: [] },
    };
    const uid = (ps: V1Pod[]) => currentAgentPod(ps, 'kind-worker2', 'edge-agent')?.metadata?.uid;
    assert.equal(uid([old, gone, pending, running, elsewhere]), 'running');
    assert.equal(uid([old, gone, pending, elsewhere]), 'pending');
    assert.equal(uid([old, gone, elsewhere]), undefined);
    assert.equal(currentAgentPod([running], 'kind-worker2', 'cloud-hub'), undefined);
  });

  it('should run node commands with docker exec (stdin only when there is input) and journal undos by container', async () => {
    const exec = recorder();
    const shell = new DockerNodeShell('edge-1', 'kind-worker', exec);
    await shell.exec(['nft', '-f', '-'], { input: 'create table inet t\n' });
    await shell.exec(['pkill', '-KILL', '-x', 'edge-agent']);
    assert.deepEqual(exec.calls, [
      { argv: ['docker', 'exec', '-i', 'kind-worker', 'nft', '-f', '-'], input: 'create table inet t\n' },
      { argv: ['docker', 'exec', 'kind-worker', 'pkill', '-KILL', '-x', 'edge-agent'] },
    ]);
    assert.deepEqual(shell.undoEntry(['nft', 'delete', 'table', 'inet', 't']), {
      kind: 'docker-exec',
      data: { container: 'kind-worker', argv: ['nft', 'delete', 'table', 'inet', 't'] },
    });
  });

  it('should pass a helper its environment by name only, never its values on a command line', async () => {
    using dir = tempDir('cluster-shell-env');
    const reg = CleanupRegistry.open('test-cluster-shell-env', dir.path);
    try {
      const seen: { argv: string[]; env?: NodeJS.ProcessEnv }[] = [];
      const exec: DockerExecutor = (argv, opts) => {
        seen.push({ argv: [...argv], ...(opts?.env ? { env: opts.env } : {}) });
        return Promise.resolve({ code: 0, signal: null, stdout: '', stderr: '' } satisfies RunResult);
      };
      const shell = new DockerNodeShell('edge-1', 'kind-worker', exec);
      const p = await shell.spawn(['/edge-agent'], {
        what: 'cold start',
        registry: reg,
        env: { EDGE_TOKEN: 's3cret', EDGE_MODE: 'offline' },
      });
      const start = seen[0]!;
      assert.deepEqual(start.argv.slice(0, 7), [
        'docker',
        'exec',
        '-e',
        'EDGE_TOKEN',
        '-e',
        'EDGE_MODE',
        'kind-worker',
      ]);
      assert.ok(!start.argv.some((a) => a.includes('s3cret')), 'no value on the command line');
      assert.equal(start.env?.['EDGE_TOKEN'], 's3cret', 'the docker client has it in its environment');
      await p.exited;
      p.handle.forget();
    } finally {
      await reg.close();
    }
  });

  it('should start helpers in the node with a pid file, the kill journaled before the start', async () => {
    using dir = tempDir('cluster-shell');
    const reg = CleanupRegistry.open('test-cluster-shell', dir.path);
    try {
      const exec = recorder();
      const shell = new DockerNodeShell('edge-1', 'kind-worker', exec);
      const p = await shell.spawn(['stress-ng', '--cpu', '1'], { what: 'stress', registry: reg });
      const [entry] = reg.pending();
      assert.equal(entry?.kind, 'docker-exec');
      const kill = entry.data['argv'] as string[];
      const start = exec.calls[0]!.argv;
      assert.deepEqual(start.slice(0, 5), ['docker', 'exec', 'kind-worker', 'sh', '-c']);
      assert.equal(start[6], kill[3], 'the undo kills the pid the start recorded');
      assert.deepEqual(start.slice(7), ['stress-ng', '--cpu', '1']);
      await p.exited;
      p.handle.forget();
    } finally {
      await reg.close();
    }
  });

  it('should lose a container node with docker stop and restore it with docker start until healthy', async () => {
    const exec = recorder();
    let checks = 0;
    const d = containerNodeLoss(
      () => Promise.resolve(++checks >= 2),
      (argv) => exec(argv),
    );
    await d.lose('kind-worker');
    await d.restore('kind-worker');
    assert.deepEqual(
      exec.calls.map((c) => c.argv),
      [
        ['docker', 'stop', '--time', '0', 'kind-worker'],
        ['docker', 'start', 'kind-worker'],
      ],
    );
    assert.equal(checks, 2);
  });

  it('should find the IPv4 gateway of a dual-stack kind network', () => {
    assert.equal(ipv4Gateway('fc00:f853:ccd:e793::1 172.18.0.1 \n'), '172.18.0.1');
    assert.throws(() => ipv4Gateway('fc00::1'), /no IPv4 gateway/);
  });
});

describe('uplink proxies on a cluster', () => {
  it('should add the proxy DaemonSet to the stack and point the edge agent at it, in the run namespace', () => {
    const objs = prepareManifests([...loadManifests(), uplinkDaemonSet()], {
      namespace: 'edgechaos-r1',
      env: { 'edge-agent': { CLOUD_URL: `http://${UPLINK_LISTEN}` } },
    });
    const ds = objs.find((o) => o.metadata?.name === 'edgechaos-uplink') as V1DaemonSet;
    assert.equal(ds.metadata?.namespace, 'edgechaos-r1');
    assert.equal(ds.spec?.template.spec?.hostNetwork, true);
    assert.equal(ds.spec?.template.spec?.containers[0]?.image, UPLINK_IMAGE);
    const agent = objs.find((o) => o.metadata?.name === 'edge-agent') as V1DaemonSet;
    const env = agent.spec?.template.spec?.containers[0]?.env ?? [];
    assert.deepEqual(
      env.filter((e) => e.name === 'CLOUD_URL'),
      [{ name: 'CLOUD_URL', value: 'http://127.0.0.1:7100' }],
    );
    assert.ok(
      env.some((e) => e.name === 'EDGE_NODE_ID' && e.valueFrom),
      'other variables kept',
    );
  });

  it('should build the proxy image from the pinned toxiproxy-server without a daemon', async () => {
    using dir = tempDir('uplink-image');
    const archive = await buildUplinkImage(dir.path);
    const size = imageSize(archive);
    assert.deepEqual(size.tags, [UPLINK_IMAGE]);
    assert.ok(size.compressedBytes > 1e6, 'the toxiproxy binary is in it');
  });
});

describe('Kubernetes faults and checks in campaigns (pure)', () => {
  /** What a Kubernetes target's preflight does with the planned faults. */
  const prevalidateKubeFaults = (p: Plan, name: string): void =>
    prevalidateFaults(
      targetRequest({ edgeMode: 'auto', target: {}, checks: {} } as never, p, {} as never, {}).faults,
      p.nodes.map((n) => n.name),
      { name, capabilities: ['shell', 'stack', 'uplink', 'kube'] },
    );
  const plan = (faults: Partial<PlannedFault>[]): Plan => ({
    seed: 1,
    nodes: [
      { name: 'edge-1', profile: 'rpi4' },
      { name: 'edge-2', profile: 'rpi4' },
    ],
    warmupMs: 0,
    loadMs: 10_000,
    convergenceTimeoutMs: 1000,
    publishAt: [],
    faults: faults.map((f, i) => ({
      id: `f${i + 1}`,
      kind: 'cordon',
      node: 'edge-1',
      at: 0,
      durationMs: 1000,
      params: {},
      seed: 1,
      ...f,
    })),
  });

  it('should accept Kubernetes faults and node-level ones, and name the field of a bad one', () => {
    prevalidateKubeFaults(
      plan([
        { kind: 'cordon' },
        { kind: 'overload' },
        { kind: 'node-loss' },
        { kind: 'pod-kill', durationMs: undefined },
        { kind: 'partition' },
      ]),
      'kube-local',
    );
    assert.throws(
      () => prevalidateKubeFaults(plan([{ kind: 'cordon', durationMs: undefined }]), 'kind'),
      /f1 cordon needs a duration/,
    );
    assert.throws(() => prevalidateKubeFaults(plan([{ kind: 'pod-kill' }]), 'kind'), /pod-kill is instant/);
    assert.throws(
      () => prevalidateKubeFaults(plan([{ kind: 'overload', params: { level: 2 } }]), 'kind'),
      /unknown param "level"/,
    );
    assert.throws(
      () => prevalidateKubeFaults(plan([{ kind: 'node-loss', node: 'cloud' }]), 'kind'),
      /cloud node would stop the hub/,
    );
  });

  it('should accept uplink toxics on clusters too (the uplink proxies are on the edge nodes)', () => {
    prevalidateKubeFaults(plan([{ kind: 'latency', params: { latency: '100ms' } }]), 'kind');
    assert.throws(
      () =>
        prevalidateKubeFaults(plan([{ kind: 'latency', node: 'cloud', params: { latency: '1ms' } }]), 'kind'),
      /cloud/,
    );
  });

  it('should fail rescheduling that timed out, scoring the timeout as a lower bound', () => {
    const c = checkRescheduling(
      { ok: false, error: 'deadline', timeoutMs: 35_000, partial: [], mechanism: 'kwok' },
      30_000,
    );
    assert.equal(c.status, 'failed');
    assert.equal(c.metrics['reschedule.p99-ms']?.value, 35_000);
    const trial = { node: 'edge-1', podsOnNode: 3, rescheduledMs: 17_000, replacementNodes: ['edge-2'] };
    const result = {
      workload: 'workload',
      namespace: 'ns',
      mechanism: 'kwok',
      trials: [trial, { ...trial, rescheduledMs: 18_000 }],
      rescheduled: { count: 2, p50: 17_000, p99: 18_000, max: 18_000 },
      detected: { count: 2, p50: 12_000, p99: 12_000, max: 12_000 },
    };
    const ok = checkRescheduling({ ok: true, result }, 30_000);
    assert.equal(ok.status, 'passed');
    assert.deepEqual(ok.metrics['reschedule.p99-ms']?.spread, { min: 17_000, max: 18_000, n: 2 });
    assert.equal(checkRescheduling({ ok: true, result }, 10_000).status, 'failed', 'p99 over the limit');
  });

  it('should pass the scheduling benchmark only when placement is more latency-aware than the default', () => {
    const sched = (name: string, share: number) => ({
      scheduler: name,
      p99: 30,
      throughput: 200,
      cpuSpread: 0.2,
      lowLatencyShare: share,
    });
    const b = {
      nodes: 20,
      pods: 200,
      rounds: 1,
      edge: sched('edge-scheduler', 1),
      baseline: sched('default', 0.3),
    };
    const ok = checkSchedulingBench(b);
    assert.equal(ok.status, 'passed');
    assert.equal(ok.metrics['scheduling.low-latency-share']?.value, 1);
    assert.equal(ok.metrics['scheduling.p99-ms'], undefined, 'the campaign measures p99 itself');
    assert.equal(checkSchedulingBench({ ...b, edge: sched('edge-scheduler', 0.3) }).status, 'failed');
  });

  it('should fail scheduling latency when no pod was seen bound', () => {
    const q = { count: 0, p50: 0, p99: 0, max: 0 };
    const c = checkSchedulingLatency(
      {
        pods: 3,
        createdToScheduled: q,
        scheduledToReady: q,
        createdToReady: q,
        scheduledPerSecond: 0,
        perNode: {},
      },
      5000,
      'default-scheduler',
    );
    assert.equal(c.status, 'failed');
    assert.deepEqual(c.metrics, {});
  });
});
