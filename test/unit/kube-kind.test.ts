import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { CommandError, TargetError, ToolMissingError } from '../../src/core/errors.ts';
import type { RunResult } from '../../src/core/proc.ts';
import {
  copyIntoNodes,
  KindCluster,
  kindCommands,
  kindConfig,
  kindPreflight,
  type Executor,
} from '../../src/targets/kube/kind.ts';
import { tempDir } from '../helpers/temp.ts';

/** Records every command; answers `kind get nodes` with the given node names. */
function fakeExecutor(
  nodes: string[],
  fail?: (argv: readonly string[]) => boolean,
): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  const exec = (argv: readonly string[]): Promise<RunResult> => {
    calls.push([...argv]);
    if (fail?.(argv)) return Promise.reject(new CommandError(argv, 1, 'boom'));
    const stdout = argv[1] === 'get' && argv[2] === 'nodes' ? nodes.join('\n') + '\n' : '';
    return Promise.resolve({ code: 0, signal: null, stdout, stderr: '' });
  };
  return Object.assign(exec, { calls });
}

/** A one-worker cluster whose `kind <step>` fails: create rejects with a CommandError. */
async function createFailing(dir: string, runId: string, step: string, images?: string[]) {
  const reg = CleanupRegistry.open(runId, dir);
  const exec = fakeExecutor([], (argv) => argv[1] === step);
  await assert.rejects(
    KindCluster.create({
      spec: { name: 'ec', edgeWorkers: 1 },
      dir,
      registry: reg,
      ...(images ? { images } : {}),
      exec,
    }),
    CommandError,
  );
  return { reg, exec };
}

describe('kind driver', () => {
  it('should generate a config with a schedulable cloud control plane and N edge workers', () => {
    const yaml = kindConfig({ name: 'ec', edgeWorkers: 2 });
    assert.match(yaml, /^kind: Cluster\napiVersion: kind\.x-k8s\.io\/v1alpha4\nname: ec\n/);
    assert.equal(yaml.match(/role: worker/g)?.length, 2);
    assert.equal(yaml.match(/edgechaos\.io\/role: edge/g)?.length, 2);
    assert.match(yaml, /role: control-plane\n {4}labels:\n {6}edgechaos\.io\/role: cloud/);
    assert.match(yaml, /taints: \[\]/);
    // a lost node is noticed as on kube-local, not after Kubernetes' 50 s default grace
    assert.match(yaml, /nodeLeaseDurationSeconds: 8\n/);
    assert.match(yaml, /version: v1beta4\n {4}kind: ClusterConfiguration\n/);
    assert.match(yaml, /name: node-monitor-grace-period, value: "12s"/);
    assert.throws(() => kindConfig({ name: 'ec', edgeWorkers: 0 }), RangeError);
  });

  it('should create, load images, find nodes, exec, stop/start nodes and delete with exactly these commands', async () => {
    using dir = tempDir('kind');
    const reg = CleanupRegistry.open('test-kind', dir.path);
    const exec = fakeExecutor(['ec-worker2', 'ec-control-plane', 'ec-worker']);
    const spec = { name: 'ec', edgeWorkers: 2, nodeImage: 'kindest/node:v1.36.1' };
    const cluster = await KindCluster.create({
      spec,
      dir: dir.path,
      registry: reg,
      images: ['stack/dist/images/edge-agent-amd64.tar', 'stack/dist/images/cloud-hub-amd64.tar'],
      exec,
    });
    assert.deepEqual(cluster.nodeNames, ['ec-control-plane', 'ec-worker', 'ec-worker2']);
    assert.equal(reg.pending().length, 1, 'the cluster is journaled for cleanup');
    await cluster.nodeExec('ec-worker', ['nft', 'list', 'ruleset']);
    const driver = cluster.nodeLossDriver(() => Promise.resolve(true));
    await driver.lose('ec-worker');
    await driver.restore('ec-worker');
    await cluster.delete();
    await cluster.delete();
    assert.deepEqual(exec.calls, [
      ['docker', 'info', '--format', '{{.ServerVersion}}'],
      [
        'kind',
        'create',
        'cluster',
        '--name',
        'ec',
        '--config',
        `${dir.path}/kind.yaml`,
        '--kubeconfig',
        `${dir.path}/kind.kubeconfig`,
        '--wait',
        '180s',
        '--image',
        'kindest/node:v1.36.1',
      ],
      ['kind', 'load', 'image-archive', 'stack/dist/images/edge-agent-amd64.tar', '--name', 'ec'],
      ['kind', 'load', 'image-archive', 'stack/dist/images/cloud-hub-amd64.tar', '--name', 'ec'],
      ['kind', 'get', 'nodes', '--name', 'ec'],
      ['docker', 'exec', 'ec-worker', 'nft', 'list', 'ruleset'],
      ['docker', 'stop', '--time', '0', 'ec-worker'],
      ['docker', 'start', 'ec-worker'],
      ['kind', 'delete', 'cluster', '--name', 'ec'],
    ]);
    assert.equal(reg.pending().length, 0);
    await reg.close();
  });

  it('should delete the half-created cluster when create fails', async () => {
    using dir = tempDir('kind');
    const { reg, exec } = await createFailing(dir.path, 'test-kind-fail', 'load', ['x.tar']);
    assert.deepEqual(exec.calls.at(-1), kindCommands.delete('ec'));
    assert.equal(reg.pending().length, 0);
    await reg.close();
  });

  it("should keep kind's whole stderr in logs/ when create fails (the error keeps only its last lines)", async () => {
    using dir = tempDir('kind');
    const { reg } = await createFailing(dir.path, 'test-kind-fail-log', 'create');
    const log = readFileSync(join(dir.path, 'logs', 'kind-failed.log'), 'utf8');
    assert.match(log, /^\$ kind create cluster --name ec /);
    assert.match(log, /boom/);
    await reg.close();
  });

  it('should refuse to exec on a node that is not in the cluster', async () => {
    using dir = tempDir('kind');
    const reg = CleanupRegistry.open('test-kind-node', dir.path);
    const cluster = await KindCluster.create({
      spec: { name: 'ec', edgeWorkers: 1 },
      dir: dir.path,
      registry: reg,
      exec: fakeExecutor(['ec-worker']),
    });
    assert.throws(() => void cluster.nodeExec('elsewhere', ['true']), TargetError);
    await cluster.delete();
    await reg.close();
  });

  it('should fail early with the install hint when kind or docker is absent, or the daemon is down', async () => {
    const ok = fakeExecutor([]);
    await assert.rejects(
      kindPreflight(ok, (t) => (t === 'kind' ? undefined : '/usr/bin/docker')),
      (e: unknown) =>
        e instanceof ToolMissingError &&
        e.tool === 'kind' &&
        /go install sigs\.k8s\.io\/kind/.test(e.message),
    );
    await assert.rejects(
      kindPreflight(ok, (t) => (t === 'docker' ? undefined : '/usr/bin/kind')),
      (e: unknown) => e instanceof ToolMissingError && e.tool === 'docker',
    );
    const down = fakeExecutor([], () => true);
    await assert.rejects(
      kindPreflight(down, () => '/usr/bin/x'),
      /Docker daemon is not reachable/,
    );
  });
});

describe('copyIntoNodes', () => {
  it('streams each file into each node under /opt, same mode (not docker cp, not the host path: kind nodes mount a noexec tmpfs on /tmp)', async () => {
    using d = tempDir('copy-into-nodes');
    const bin = join(d.path, 'edge-agent');
    writeFileSync(bin, 'x');
    chmodSync(bin, 0o750);
    const seen: { argv: string[]; inputFile: string | undefined }[] = [];
    const exec: Executor = (argv, opts) => {
      seen.push({ argv: [...argv], inputFile: opts?.inputFile });
      return Promise.resolve({ code: 0, signal: null, stdout: '', stderr: '' });
    };
    await copyIntoNodes(['n1', 'n2'], [bin], exec);
    assert.deepEqual(
      seen,
      ['n1', 'n2'].map((n) => ({
        argv: [
          'docker',
          'exec',
          '-i',
          n,
          'install',
          '-D',
          '-m',
          '750',
          '/dev/stdin',
          `/opt/edgechaos/files${bin}`,
        ],
        inputFile: bin,
      })),
    );
    assert.equal(
      kindCommands.importImage('n1').join(' '),
      'docker exec -i n1 ctr --namespace=k8s.io images import --all-platforms -',
      'an image archive is imported from stdin too',
    );
  });
});
