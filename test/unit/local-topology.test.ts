import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAcctCounters } from '../../src/targets/local/deployment.ts';
import { localNames } from '../../src/targets/local/names.ts';
import {
  boardProfiles,
  cpuQuota,
  parseBytes,
  profileToxics,
  resolveProfile,
} from '../../src/targets/local/profiles.ts';
import {
  formatCidr,
  isPrivate,
  parseCidr,
  pickRunSubnet,
  runAddresses,
} from '../../src/targets/local/subnet.ts';
import { resolveTopology } from '../../src/targets/local/target.ts';
import { planTopology, wrapInNode } from '../../src/targets/local/topology-plan.ts';

const role = (port: number, cmd: string[]) => ({ command: cmd, env: { X: '1' }, port, health: '/healthz' });

function plan(n: number) {
  const names = localNames('dep-test-1');
  return planTopology({
    names,
    addresses: runAddresses(parseCidr('10.77.3.0/24'), n),
    runDir: '/tmp/run',
    stack: { edge: role(7001, ['/bin/agent', 'edge']), hub: role(7000, ['/bin/hub']) },
    edges: Array.from({ length: n }, (_, i) => ({
      name: `edge-${i + 1}`,
      profile: 'rpi4',
      limits: boardProfiles['rpi4']!,
    })),
    edgeMode: 'auto',
  });
}

describe('local target: names', () => {
  it('should derive every name from the run id and keep interface names within 15 characters', () => {
    const n = localNames('dep-mwwpxg9x-5c40');
    assert.equal(n.netns('edge-3'), 'ec-dep-mwwpxg9x-5c40-edge-3');
    assert.equal(n.cgroup('cloud'), 'ec-dep-mwwpxg9x-5c40-cloud');
    assert.ok(
      n.bridge.length <= 15 &&
        n.hostVeth('edge-199').length <= 15 &&
        n.hostVeth('edge-abc-long-name').length <= 15,
    );
    assert.notEqual(localNames('run-a').tag, localNames('run-b').tag);
    assert.throws(() => localNames('bad id with spaces'));
  });
});

describe('local target: subnet', () => {
  it('should take the first free /24 of the pool', () => {
    const c = pickRunSubnet('10.77.0.0/16', ['0.0.0.0/0', '192.0.2.0/24', '10.77.0.0/24', '10.77.1.0/24']);
    assert.equal(formatCidr(c), '10.77.2.0/24');
  });
  it('should refuse public ranges and full pools', () => {
    assert.throws(() => pickRunSubnet('8.8.0.0/16', []), /not a private/);
    assert.throws(() => pickRunSubnet('10.77.5.0/24', ['10.77.5.0/24']), /no free/);
    assert.equal(isPrivate(parseCidr('172.20.0.0/16')), true);
  });
  it('should place client, cloud and edges and refuse too many edges', () => {
    const a = runAddresses(parseCidr('10.77.3.0/24'), 50);
    assert.deepEqual(
      [a.client, a.cloud, a.edge(1), a.edge(50)],
      ['10.77.3.1', '10.77.3.2', '10.77.3.11', '10.77.3.60'],
    );
    assert.throws(() => runAddresses(parseCidr('10.77.3.0/24'), 250), /room for/);
  });
});

describe('local target: board profiles', () => {
  it('should resolve named and custom profiles', () => {
    assert.equal(resolveProfile('rpi-zero').limits.cpus, 0.25);
    assert.equal(resolveProfile('rpi-zero').limits.memoryBytes, 256 * 2 ** 20);
    const c = resolveProfile('custom:cpus=0.5,memory=512MiB');
    assert.deepEqual(c.limits, { cpus: 0.5, memoryBytes: 512 * 2 ** 20 });
    assert.deepEqual(cpuQuota(0.25), { periodUs: 100_000, quotaUs: 25_000 });
    assert.equal(parseBytes('1.5G'), 1.5 * 2 ** 30);
  });
  it('should give a custom profile a default uplink as toxics on its own proxy', () => {
    const c = resolveProfile('custom:cpus=1,memory=256MiB,latency=80ms,jitter=5ms,rate=512');
    assert.deepEqual(c.limits.uplink, { latencyMs: 80, jitterMs: 5, rateKbps: 512 });
    assert.deepEqual(
      profileToxics(c.limits).map((t) => [t['name'], t['attributes']]),
      [
        ['profile_latency', { latency: 80, jitter: 5 }],
        ['profile_bandwidth', { rate: 64 }],
      ],
    );
    assert.deepEqual(profileToxics(boardProfiles['rpi4']!), []);
    assert.throws(() => resolveProfile('custom:cpus=1,memory=256MiB,rate=2'), /≥ 8 kbit/);
    assert.throws(() => resolveProfile('custom:cpus=1,memory=256MiB,latency=soon'), /duration/);
  });
  it('should name the field of a bad profile', () => {
    assert.throws(
      () => resolveProfile('rpi9', 'nodes[1].profile'),
      (e: Error & { field?: string }) => e.field === 'nodes[1].profile',
    );
    assert.throws(() => resolveProfile('custom:cpus=0,memory=1GiB'), /cpus must be/);
    assert.throws(() => resolveProfile('custom:cpus=1,memory=1MiB'), /at least 16MiB/);
    assert.throws(() => resolveTopology({ edges: [{ name: 'edge-1' }, { name: 'edge-1' }] }), /twice/);
    assert.throws(() => resolveTopology({ edges: [{ name: 'node1' }] }), /must look like edge-1/);
  });
});

describe('local target: topology plan', () => {
  it('should create namespaces, a bridge and one veth per node in one root batch', () => {
    const p = plan(2);
    const n = localNames('dep-test-1');
    assert.ok(p.rootBatch.includes(`netns add ${n.netns('edge-2')}`));
    assert.ok(
      p.rootBatch.includes(
        `link add ${n.hostVeth('edge-1')} type veth peer name eth0 netns ${n.netns('edge-1')}`,
      ),
    );
    const bridgeAt = p.rootBatch.indexOf(`link add ${n.bridge} type bridge`);
    const vethAt = p.rootBatch.findIndex((l) => l.includes('type veth'));
    assert.ok(bridgeAt >= 0 && bridgeAt < vethAt);
    assert.ok(p.rootBatch.includes(`addr add 10.77.3.1/24 dev ${n.bridge}`));
    assert.equal(p.nodes.length, 3);
    // No default route anywhere: nodes reach only the run's subnet.
    assert.ok(![...p.rootBatch, ...p.nsBatch.flatMap((b) => b.lines)].some((l) => l.includes('default')));
  });
  it('should give each edge its contract env, its own uplink proxy and board limits', () => {
    const p = plan(2);
    const e2 = p.nodes.find((x) => x.name === 'edge-2')!;
    assert.equal(e2.env['EDGE_NODE_ID'], 'edge-2');
    assert.equal(e2.env['EDGE_LISTEN'], '10.77.3.12:7001');
    assert.equal(e2.env['CLOUD_URL'], `http://${e2.proxy!.listen}`);
    assert.equal(e2.proxy!.upstream, '10.77.3.2:7000');
    assert.equal(e2.env['X'], '1');
    assert.ok(
      p.cgroupWrites.some((w) => w.file === `${e2.cgroups.cpu}/cpu.cfs_quota_us` && w.value === '100000'),
    );
    assert.ok(
      p.cgroupWrites.some(
        (w) => w.file === `${e2.cgroups.memory}/memory.limit_in_bytes` && w.value === String(2 ** 30),
      ),
    );
    const hub = p.nodes.find((x) => x.name === 'cloud')!;
    assert.equal(hub.env['HUB_LISTEN'], '10.77.3.2:7000');
    assert.deepEqual(hub.argv.slice(-1), ['/bin/hub']);
  });
  it('should join the cgroups before entering the namespace, passing user args as separate argv entries', () => {
    const argv = wrapInNode(['/sys/fs/cgroup/cpu/x'], 'ns1', ['agent', '--flag', '$(rm -rf /)']);
    assert.equal(argv[0], 'sh');
    assert.ok(argv[2]!.indexOf('cgroup.procs') < argv[2]!.indexOf('ip netns exec'));
    assert.deepEqual(argv.slice(-3), ['agent', '--flag', '$(rm -rf /)']);
    assert.ok(!argv[2]!.includes('rm -rf'));
  });
  it('should read uplink counters from nft JSON', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: {} },
        { counter: { family: 'inet', name: 'up', table: 'ec_acct', handle: 1, packets: 3, bytes: 580 } },
        { counter: { family: 'inet', name: 'down', table: 'ec_acct', handle: 2, packets: 2, bytes: 380 } },
      ],
    });
    assert.deepEqual(parseAcctCounters(json), { sent: 580, received: 380 });
  });
});
