import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planFault, prevalidateFaults } from '../../faults/catalogue.ts';
import { fillPath } from '../../faults/disk-full.ts';
import { burstSchedule, lossRules } from '../../faults/loss.ts';
import type { FaultStep, PlanContext, ResolvedFault } from '../../faults/types.ts';
import { UsageError } from '../../src/core/errors.ts';
import { resolvedFault } from '../helpers/faults.ts';
import type { DataLayer } from '../../faults/capabilities.ts';
import { planNeeds } from '../../faults/types.ts';
import { mountsAt } from '../../src/core/mounts.ts';
import { dataDirSettings, planDataDirs } from '../../src/targets/local/data-dir.ts';
import { localCapabilities } from '../../src/targets/local/plugin.ts';
import { sshPlugin } from '../../src/targets/ssh/plugin.ts';
import { timeNamespaceArgv, wrapInNode } from '../../src/targets/local/topology-plan.ts';

const layer = (n: string): DataLayer => ({
  ctl: ['/x/ec-fusefs', 'ctl', `/tmp/ecfs-r/${n}.sock`],
  tool: ['/x/ec-fusefs'],
  backingDir: `/runs/r/data/${n}.disk`,
  sizeBytes: 64 * 2 ** 20,
});
const ctx: PlanContext = {
  nodes: [
    { name: 'cloud', role: 'cloud', address: '10.77.0.2' },
    { name: 'edge-1', role: 'edge', address: '10.77.0.11' },
    { name: 'edge-2', role: 'edge', address: '10.77.0.12' },
    { name: 'edge-3', role: 'edge', address: '10.77.0.13' },
  ],
  clientAddresses: ['10.77.0.1'],
  uplinkProxy: (n) => (n === 'cloud' ? undefined : { api: 'http://10.77.0.2:8474', proxy: `uplink-${n}` }),
  uplinkDevice: () => 'eth0',
  dataLayer: (n) => (n.startsWith('edge-') && n !== 'edge-3' ? layer(n) : undefined),
};

const f = resolvedFault;
const plan = (kind: string, params: Record<string, unknown> = {}, extra: Partial<ResolvedFault> = {}) =>
  planFault(f(kind, params, extra), ctx);
const execs = (s: FaultStep[]): Extract<FaultStep, { op: 'exec' }>[] =>
  s.filter((x): x is Extract<FaultStep, { op: 'exec' }> => x.op === 'exec');
const bad = (
  kind: string,
  params: Record<string, unknown>,
  field: RegExp | string,
  extra: Partial<ResolvedFault> = {},
) =>
  assert.throws(
    () => plan(kind, params, extra),
    (e: unknown) =>
      e instanceof UsageError && (typeof field === 'string' ? e.field === field : field.test(e.message)),
  );

describe('fault plans: loss', () => {
  it('should drop 20% both ways on the uplink with numgen random in a table deleted on revert', () => {
    const p = plan('loss', { percent: 20 });
    const [s] = execs(p.steps);
    assert.equal(p.steps.length, 1);
    assert.deepEqual(s!.argv, ['nft', '-f', '-']);
    assert.match(s!.input!, /^create table inet ec_f1\n/);
    assert.match(
      s!.input!,
      /add rule inet ec_f1 in ip saddr \{ 10\.77\.0\.2 \} numgen random mod 10000 < 2000 drop/,
    );
    assert.match(
      s!.input!,
      /add rule inet ec_f1 out ip daddr \{ 10\.77\.0\.2 \} numgen random mod 10000 < 2000 drop/,
    );
    assert.deepEqual(s!.undo, ['nft', 'delete', 'table', 'inet', 'ec_f1']);
  });
  it('should be direction-aware and pick the peers like partition', () => {
    const out = execs(plan('loss', { percent: 5.5, direction: 'out', between: 'client-edge' }).steps)[0]!;
    assert.doesNotMatch(out.input!, /add rule inet ec_f1 in /);
    assert.match(out.input!, /out ip daddr \{ 10\.77\.0\.1 \} numgen random mod 10000 < 550 drop/);
    const peer = execs(
      plan('loss', { percent: 1, between: 'edge-edge', peer: 'edge-2', direction: 'in' }).steps,
    )[0]!;
    assert.match(peer.input!, /in ip saddr \{ 10\.77\.0\.12 \} numgen/);
    assert.doesNotMatch(peer.input!, /10\.77\.0\.13/);
  });
  it('should emit no rule at 0%, a plain drop at 100%, and keep the resolution at 0.01%', () => {
    assert.equal(lossRules('t', ['1.1.1.1'], 'both', 0), '');
    assert.match(lossRules('t', ['1.1.1.1'], 'in', 0.01), /< 1 drop/);
    // numgen draws 0..9999: 100 % is a plain drop (nft refuses `< 10000`).
    assert.equal(lossRules('t', ['1.1.1.1'], 'out', 100), 'add rule inet t out ip daddr { 1.1.1.1 } drop\n');
    assert.match(lossRules('t', ['1.1.1.1'], 'out', 99.99), /mod 10000 < 9999 drop/);
  });
  it('should switch Gilbert–Elliott bad/good states on a seeded schedule averaging the asked share', () => {
    const p = plan('loss', { percent: 10, burst: '300ms', burstPercent: 50 }, { durationMs: 60_000 });
    const first = execs(p.steps)[0]!;
    assert.doesNotMatch(first.input!, /numgen/, 'starts in the good state');
    const afters = p.steps.filter((s) => s.op === 'after');
    assert.ok(afters.length >= 20, `${afters.length} state switches`);
    const burst = afters[0]!.op === 'after' ? execs(afters[0]!.steps)[0]! : undefined;
    assert.match(burst!.input!, /flush chain inet ec_f1 in\n.*numgen random mod 10000 < 5000 drop/s);
    // Same seed, same plan; the share of time in bursts is percent / burstPercent.
    assert.deepEqual(
      plan('loss', { percent: 10, burst: '300ms', burstPercent: 50 }, { durationMs: 60_000 }).steps,
      p.steps,
    );
    const sched = burstSchedule({ percent: 10, burstMs: 300, burstPercent: 50 }, 600_000, 3);
    const badMs = sched.reduce((a, w) => a + w.goodAt - w.badAt, 0);
    assert.ok(Math.abs(badMs / 600_000 - 0.2) < 0.03, `bad share ${badMs / 600_000}`);
    const meanBurst = badMs / sched.length;
    assert.ok(meanBurst > 240 && meanBurst < 360, `mean burst ${meanBurst}`);
  });
  it('should refuse bad params by name before anything changes', () => {
    bad('loss', {}, 'params.percent');
    bad('loss', { percent: 120 }, 'params.percent');
    bad('loss', { percent: 'lots' }, 'params.percent');
    bad('loss', { percent: 10, burstPercent: 50 }, 'params.burstPercent');
    bad('loss', { percent: 60, burst: '1s', burstPercent: 50 }, 'params.burstPercent');
    bad('loss', { percent: 10, burst: '1s' }, 'for', { durationMs: undefined });
    bad('loss', { percent: 10, peer: 'edge-2' }, 'params.peer');
    bad('loss', { percent: 10, between: 'edge-edge', peer: 'edge-1' }, 'params.peer');
    bad('loss', { percent: 10, colour: 'red' }, 'params.colour');
  });
});

describe('fault plans: disk-full', () => {
  it('should make the size-limited disk under the data dir full; revert restores its size and deletes the fault file', () => {
    const p = plan('disk-full');
    const [s] = execs(p.steps);
    const file = fillPath('/runs/r/data/edge-1.disk', 'ec_f1');
    assert.deepEqual(s!.argv, ['/x/ec-fusefs', 'full', file]);
    assert.deepEqual(s!.undo, ['/x/ec-fusefs', 'release', file, String(64 * 2 ** 20)]);
    assert.equal(p.steps.length, 1);
  });
  it('should refuse a node without a data layer, the cloud and unknown params by name', () => {
    bad('disk-full', {}, /data-dir fault layer .* on edge-3/, { node: 'edge-3' });
    bad('disk-full', {}, /edge nodes/, { node: 'cloud' });
    bad('disk-full', { size: '1G' }, 'params.size');
    assert.throws(() => planFault(f('disk-full'), { ...ctx, dataLayer: undefined }), /data-dir fault layer/);
  });
});

describe('fault plans: io-error and io-latency', () => {
  it('should set a rule on the layer and clear exactly it on revert (also when the layer is gone)', () => {
    const s = execs(plan('io-error', { op: 'write', prob: 0.3 }).steps)[0]!;
    assert.deepEqual(s.argv, [
      '/x/ec-fusefs',
      'ctl',
      '/tmp/ecfs-r/edge-1.sock',
      'set',
      'io-error',
      'op=write',
      'prob=0.3',
      'errno=EIO',
    ]);
    assert.deepEqual(s.undo, [
      '/x/ec-fusefs',
      'ctl',
      '-if-running',
      '/tmp/ecfs-r/edge-1.sock',
      'clear',
      'io-error',
      'op=write',
    ]);
    const l = execs(plan('io-latency', { op: 'fsync,read', delay: '250ms', prob: '50%' }).steps)[0]!;
    assert.deepEqual(l.argv.slice(3), ['set', 'io-latency', 'op=read,fsync', 'prob=0.5', 'delay=250ms']);
    assert.deepEqual(l.undo!.slice(4), ['clear', 'io-latency', 'op=read,fsync']);
  });
  it('should default to writes and fsyncs failing with EIO, and to every op delayed 100ms', () => {
    assert.deepEqual(execs(plan('io-error').steps)[0]!.argv.slice(3), [
      'set',
      'io-error',
      'op=write,fsync',
      'prob=1',
      'errno=EIO',
    ]);
    assert.deepEqual(execs(plan('io-latency').steps)[0]!.argv.slice(3), [
      'set',
      'io-latency',
      'op=read,write,fsync',
      'prob=1',
      'delay=100ms',
    ]);
  });
  it('should refuse bad ops, probabilities and errnos by name', () => {
    bad('io-error', { op: 'chmod' }, 'params.op');
    bad('io-error', { prob: 2 }, 'params.prob');
    bad('io-error', { prob: '150%' }, 'params.prob');
    bad('io-error', { errno: 'EPERM' }, 'params.errno');
    bad('io-latency', { delay: '2m' }, 'params.delay');
    bad('io-latency', { errno: 'EIO' }, 'params.errno');
    bad('io-latency', {}, /data-dir fault layer/, { node: 'edge-3' });
  });
});

describe('fault plans: power-loss', () => {
  it('should kill every process, then drop un-synced writes, then boot after downFor (and on revert)', () => {
    const p = plan('power-loss', { downFor: '2s' });
    assert.deepEqual(
      p.steps.map((s) => s.op),
      ['kill-all', 'data-ctl', 'after'],
    );
    const drop = p.steps[1]!;
    assert.ok(drop.op === 'data-ctl');
    assert.deepEqual(drop.words, ['power-loss'], 'lost data is not given back: no undo');
    const after = p.steps[2]!;
    assert.ok(after.op === 'after' && after.delayMs === 2000 && after.steps[0]!.op === 'start');
    assert.deepEqual(
      p.onRevert.map((s) => s.op),
      ['start'],
    );
  });
  it('should refuse nodes without the layer and bad durations', () => {
    bad('power-loss', {}, /data-dir fault layer/, { node: 'edge-3' });
    bad('power-loss', { downFor: 'soon' }, 'params.downFor');
  });
});

describe('fault plans: clock-skew', () => {
  it('should restart the stack in a time namespace offset by the signed offset, and unskewed on revert', () => {
    const p = plan('clock-skew', { offset: '-2h' });
    assert.deepEqual(
      p.steps.map((s) => s.op),
      ['kill-all', 'start-skewed'],
    );
    assert.ok(p.steps[1]!.op === 'start-skewed' && p.steps[1].offsetSecs === -7200);
    assert.deepEqual(
      p.onRevert.map((s) => s.op),
      ['start'],
    );
    assert.deepEqual([...planNeeds(p)].sort(), ['clock', 'stack']);
    for (const [raw, secs] of [
      ['+300s', 300],
      ['300s', 300],
      ['1m30s', 90],
      ['-24h', -86400],
    ] as const) {
      const s = plan('clock-skew', { offset: raw }).steps[1]!;
      assert.ok(s.op === 'start-skewed' && s.offsetSecs === secs, raw);
    }
  });
  it('should refuse a missing, zero, fractional, unbounded or unparsable offset by name', () => {
    bad('clock-skew', {}, 'params.offset');
    bad('clock-skew', { offset: '0s' }, 'params.offset');
    bad('clock-skew', { offset: '+1500ms' }, 'params.offset');
    bad('clock-skew', { offset: '-200h' }, 'params.offset');
    bad('clock-skew', { offset: 'soon' }, 'params.offset');
    bad('clock-skew', { offset: '5s', drift: 1 }, /drift/);
  });
  it('should be refused by name on a target without a time namespace (kind) and planned on local and ssh', () => {
    const fault = f('clock-skew', { offset: '+5m' });
    assert.throws(
      () =>
        prevalidateFaults([fault], ['edge-1'], {
          name: 'kind',
          capabilities: ['shell', 'stack', 'uplink', 'kube'],
        }),
      (e: unknown) => e instanceof UsageError && /time namespace.*target kind/.test(e.message),
    );
    prevalidateFaults([fault], ['edge-1'], { name: 'local', capabilities: localCapabilities });
    prevalidateFaults([fault], ['edge-1'], sshPlugin);
  });
  it('should put unshare --time after the cgroup join, inside the node namespace', () => {
    const argv = wrapInNode(['/cg/cpu/n'], 'ns1', [...timeNamespaceArgv(-60), '/bin/agent']);
    assert.deepEqual(argv.slice(4), [
      '/cg/cpu/n',
      'ns1',
      'unshare',
      '--time',
      '--monotonic',
      '-60',
      '--boottime',
      '-60',
      '--',
      '/bin/agent',
    ]);
    assert.throws(() => timeNamespaceArgv(1.5), /whole seconds/);
  });
});

describe('local data dirs', () => {
  it('should plan a disk, a layer and a control socket per edge only', () => {
    const plans = planDataDirs(
      [
        { name: 'cloud', role: 'cloud', dataDir: '/r/data/cloud' },
        { name: 'edge-1', role: 'edge', dataDir: '/r/data/edge-1' },
      ],
      { runId: 'r', tool: '/t/ec-fusefs', sizeBytes: 2 ** 20, socketDir: '/tmp/ecfs-r' },
    );
    assert.equal(plans.length, 1);
    assert.deepEqual(plans[0]!.argv, [
      '/t/ec-fusefs',
      'mount',
      '-backing',
      '/r/data/edge-1.disk',
      '-mount',
      '/r/data/edge-1',
      '-ctl',
      '/tmp/ecfs-r/edge-1.sock',
      '-seed',
      '1',
    ]);
    assert.deepEqual(plans[0]!.layer.ctl, ['/t/ec-fusefs', 'ctl', '/tmp/ecfs-r/edge-1.sock']);
  });
  it('should read size and on/off from the environment with errors naming the variable', () => {
    assert.deepEqual(dataDirSettings({}), { enabled: true, sizeBytes: 64 * 2 ** 20 });
    assert.deepEqual(dataDirSettings({ EDGECHAOS_DATA_LAYER: 'off', EDGECHAOS_DATA_DIR_SIZE: '8MiB' }), {
      enabled: false,
      sizeBytes: 8 * 2 ** 20,
    });
    assert.throws(() => dataDirSettings({ EDGECHAOS_DATA_LAYER: 'maybe' }), /EDGECHAOS_DATA_LAYER/);
    assert.throws(() => dataDirSettings({ EDGECHAOS_DATA_DIR_SIZE: '4KiB' }), /at least 1MiB/);
  });
  it('should find mounts at and under a path, deepest first, unescaping spaces', () => {
    const info = [
      '36 25 0:32 / /r/data/edge-1.disk rw - tmpfs ec-disk rw',
      '37 25 0:33 / /r/data/edge-1 rw - fuse.ecfusefs x rw',
      '38 37 0:34 / /r/data/edge-1/sub\\040dir rw - tmpfs y rw',
      '39 25 0:35 / /r/data/edge-10 rw - tmpfs z rw',
    ].join('\n');
    assert.deepEqual(mountsAt('/r/data/edge-1', info), ['/r/data/edge-1/sub dir', '/r/data/edge-1']);
  });
});
