import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyFault } from '../../faults/apply.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { TargetError } from '../../src/core/errors.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';
import { deployLocalEdges, teardownLocal } from '../helpers/local-target.ts';
import { median } from '../helpers/measure.ts';

/** HTTP status of `url` fetched from inside `node` (000 = no answer within 1 s). */
async function statusFrom(dep: LocalDeployment, node: string, url: string): Promise<string> {
  const r = await dep
    .shell(node)
    .exec(['curl', '-s', '-o', '/dev/null', '-m', '1', '-w', '%{http_code}', url], {
      allowFailure: true,
    });
  return r.stdout.trim();
}

async function statusFromClient(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

async function nftTables(dep: LocalDeployment, node: string): Promise<string[]> {
  const r = await dep.shell(node).exec(['nft', 'list', 'tables']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^table /, ''));
}

async function toxics(dep: LocalDeployment, node: string): Promise<string[]> {
  const u = dep.uplinkProxy(node)!;
  const res = await fetch(`${u.api}/proxies/${u.proxy}/toxics`);
  return ((await res.json()) as { name: string }[]).map((t) => t.name).sort();
}

describe('network faults on the local target (real namespaces, nftables, toxiproxy)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-faultnet-'));
  const runId = `tfn${process.pid}`;
  let reg: CleanupRegistry;
  let dep: LocalDeployment;
  let hubViaProxy: (node: string) => string;

  before(async () => {
    reg = CleanupRegistry.open(runId, join(dir, 'state'));
    dep = await deployLocalEdges(['rpi4', 'rpi4'], { runId, dir, registry: reg });
    hubViaProxy = (node) => `http://${dep.local(node).proxy!.listen}/healthz`;
  });
  after(async () => {
    await teardownLocal(dep, reg, dir);
    assert.equal(existsSync(`/run/netns/ec-${runId}-edge-1`), false, 'namespace removed');
  });

  it('should block edge→hub while leaving client→edge and the other edge working, and heal on revert', async () => {
    const edge1 = dep.local('edge-1');
    assert.equal(await statusFrom(dep, 'edge-1', hubViaProxy('edge-1')), '200');
    const f = await applyFault(
      dep,
      { kind: 'partition', node: 'edge-1', params: { between: 'edge-cloud' } },
      reg,
    );
    try {
      assert.equal(await statusFrom(dep, 'edge-1', hubViaProxy('edge-1')), '000', 'edge-1 → hub blocked');
      assert.equal(
        await statusFrom(dep, 'edge-1', `${dep.hubUrl}/healthz`),
        '000',
        'edge-1 → hub direct blocked',
      );
      assert.equal(await statusFromClient(edge1.healthUrl), 200, 'client → edge-1 still works');
      assert.equal(await statusFrom(dep, 'edge-2', hubViaProxy('edge-2')), '200', 'edge-2 → hub unaffected');
      assert.equal(
        await statusFrom(dep, 'edge-1', `${dep.local('edge-2').url}/healthz`),
        '200',
        'edge-1 → edge-2 unaffected',
      );
    } finally {
      await f.revert();
    }
    assert.equal(await statusFrom(dep, 'edge-1', hubViaProxy('edge-1')), '200', 'healed');
    assert.deepEqual(await nftTables(dep, 'edge-1'), ['inet ec_acct']);
    await f.revert(); // idempotent
  });

  it('should cut client↔edge without cutting edge→cloud', async () => {
    const f = await applyFault(
      dep,
      { kind: 'partition', node: 'edge-2', params: { between: 'client-edge' } },
      reg,
    );
    try {
      assert.equal(await statusFromClient(dep.local('edge-2').healthUrl), 0, 'client → edge-2 blocked');
      assert.equal(await statusFrom(dep, 'edge-2', hubViaProxy('edge-2')), '200', 'edge-2 → hub works');
    } finally {
      await f.revert();
    }
    assert.equal(await statusFromClient(dep.local('edge-2').healthUrl), 200);
  });

  it('should cut edge↔edge and one way only when asked', async () => {
    const ee = await applyFault(
      dep,
      { kind: 'partition', node: 'edge-1', params: { between: 'edge-edge' } },
      reg,
    );
    try {
      assert.equal(await statusFrom(dep, 'edge-1', `${dep.local('edge-2').url}/healthz`), '000');
      assert.equal(await statusFrom(dep, 'edge-2', `${dep.local('edge-1').url}/healthz`), '000');
      assert.equal(await statusFrom(dep, 'edge-1', hubViaProxy('edge-1')), '200');
    } finally {
      await ee.revert();
    }
    // Inbound only: edge-1 can still send to the cloud, but no answer comes back.
    const oneWay = await applyFault(
      dep,
      { kind: 'partition', node: 'edge-1', params: { direction: 'in' } },
      reg,
    );
    try {
      const before = (await dep.uplinkBytes('edge-1')).sent;
      assert.equal(await statusFrom(dep, 'edge-1', hubViaProxy('edge-1')), '000');
      assert.ok((await dep.uplinkBytes('edge-1')).sent > before, 'SYNs still left edge-1');
    } finally {
      await oneWay.revert();
    }
    assert.deepEqual(await nftTables(dep, 'edge-1'), ['inet ec_acct']);
  });

  it('should add the latency toxic delay to a real request through the uplink', async () => {
    const url = hubViaProxy('edge-1');
    const timed = async (): Promise<number> => {
      const t0 = performance.now();
      const r = await fetch(url);
      await r.text();
      return performance.now() - t0;
    };
    const base = await median(timed);
    const f = await applyFault(dep, { kind: 'latency', node: 'edge-1', params: { latency: '200ms' } }, reg);
    let slow: number;
    try {
      assert.deepEqual(
        await toxics(dep, 'edge-1'),
        [`${f.plan.fault.id.replace(/-/g, '_')}`].map((id) => `ec_${id}_latency_downstream`),
      );
      slow = await median(timed);
    } finally {
      await f.revert();
    }
    assert.ok(slow - base >= 190, `latency added ${(slow - base).toFixed(0)} ms, expected ≥ 190`);
    assert.deepEqual(await toxics(dep, 'edge-1'), []);
    assert.ok((await median(timed)) < base + 150, 'delay gone after revert');
  });

  it('should reset uplink connections with reset-peer and shape with tbf', async () => {
    const r = await applyFault(dep, { kind: 'reset-peer', node: 'edge-2', params: {} }, reg);
    try {
      assert.equal(await statusFrom(dep, 'edge-2', hubViaProxy('edge-2')), '000');
    } finally {
      await r.revert();
    }
    assert.equal(await statusFrom(dep, 'edge-2', hubViaProxy('edge-2')), '200');
    const tbf = await applyFault(
      dep,
      { kind: 'bandwidth', node: 'edge-2', params: { rate: '128kbit', via: 'tbf' } },
      reg,
    );
    try {
      const q = await dep.shell('edge-2').exec(['tc', 'qdisc', 'show', 'dev', 'eth0']);
      assert.match(q.stdout, /qdisc tbf .* rate 128Kbit/);
    } finally {
      await tbf.revert();
    }
    const q = await dep.shell('edge-2').exec(['tc', 'qdisc', 'show', 'dev', 'eth0']);
    assert.doesNotMatch(q.stdout, /tbf/);
  });

  it('should toggle a flapping link on its seeded schedule and leave it up after revert', async () => {
    const f = await applyFault(
      dep,
      {
        kind: 'flap',
        node: 'edge-1',
        durationMs: 3000,
        seed: 3,
        params: { minDown: '150ms', maxDown: '300ms', minUp: '50ms', maxUp: '100ms' },
      },
      reg,
    );
    const seen = new Set<string>();
    try {
      const until = performance.now() + 1500;
      while (performance.now() < until) seen.add(await statusFrom(dep, 'edge-1', hubViaProxy('edge-1')));
    } finally {
      await f.revert();
    }
    assert.ok(seen.has('000'), `the link went down (saw ${[...seen].join(',')})`);
    assert.equal(await statusFrom(dep, 'edge-1', hubViaProxy('edge-1')), '200');
    assert.deepEqual(await nftTables(dep, 'edge-1'), ['inet ec_acct']);
    assert.deepEqual(f.laterErrors, []);
  });

  it('should revert the steps already applied when a later step fails, and nothing else', async () => {
    const first = await applyFault(
      dep,
      { id: 'dup', kind: 'latency', node: 'edge-2', params: { latency: '5ms' } },
      reg,
    );
    try {
      await assert.rejects(
        applyFault(
          dep,
          { id: 'dup', kind: 'latency', node: 'edge-2', params: { latency: '5ms', stream: 'both' } },
          reg,
        ),
        TargetError,
      );
      assert.deepEqual(
        await toxics(dep, 'edge-2'),
        ['ec_dup_latency_downstream'],
        'only the first fault is left',
      );
      const p1 = await applyFault(dep, { id: 'dup', kind: 'partition', node: 'edge-2', params: {} }, reg);
      try {
        await assert.rejects(
          applyFault(dep, { id: 'dup', kind: 'partition', node: 'edge-2', params: { direction: 'in' } }, reg),
          /File exists/,
        );
        assert.deepEqual(
          await nftTables(dep, 'edge-2'),
          ['inet ec_acct', 'inet ec_dup'],
          "the first fault's table stays",
        );
      } finally {
        await p1.revert();
      }
    } finally {
      await first.revert();
    }
    assert.deepEqual(await toxics(dep, 'edge-2'), []);
  });

  it('should change nothing on a bad param or an unknown node', async () => {
    const before = await nftTables(dep, 'edge-1');
    const journal = reg.pending().length;
    await assert.rejects(
      applyFault(dep, { kind: 'partition', node: 'edge-1', params: { direction: 'sideways' } }, reg),
      /direction/,
    );
    await assert.rejects(
      applyFault(dep, { kind: 'partition', node: 'edge-7', params: {} }, reg),
      /no node "edge-7"/,
    );
    await assert.rejects(
      applyFault(dep, { kind: 'bandwidth', node: 'edge-1', params: { rate: 0 } }, reg),
      /greater than 0/,
    );
    await assert.rejects(
      applyFault(dep, { kind: 'latency', node: 'edge-1', params: { latency: '-1s' } }, reg),
      /negative/,
    );
    assert.deepEqual(await nftTables(dep, 'edge-1'), before);
    assert.deepEqual(await toxics(dep, 'edge-1'), []);
    assert.equal(reg.pending().length, journal, 'nothing journaled');
  });
});
