import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planFault } from '../../faults/catalogue.ts';
import { flapSchedule } from '../../faults/flap.ts';
import type { FaultStep, PlanContext, ResolvedFault } from '../../faults/types.ts';
import { UsageError } from '../../src/core/errors.ts';
import { resolvedFault } from '../helpers/faults.ts';

const ctx: PlanContext = {
  nodes: [
    { name: 'cloud', role: 'cloud', address: '10.77.0.2' },
    { name: 'edge-1', role: 'edge', address: '10.77.0.11', limits: { cpus: 1, memoryBytes: 2 ** 30 } },
    {
      name: 'edge-2',
      role: 'edge',
      address: '10.77.0.12',
      limits: { cpus: 0.25, memoryBytes: 256 * 2 ** 20 },
    },
  ],
  clientAddresses: ['10.77.0.1'],
  uplinkProxy: (n) => (n === 'cloud' ? undefined : { api: 'http://10.77.0.2:8474', proxy: `uplink-${n}` }),
  uplinkDevice: () => 'eth0',
};

const f = resolvedFault;
const steps = (
  kind: string,
  params: Record<string, unknown> = {},
  extra: Partial<ResolvedFault> = {},
): FaultStep[] => planFault(f(kind, params, extra), ctx).steps;
const only = <T extends FaultStep['op']>(s: FaultStep[], op: T): Extract<FaultStep, { op: T }> => {
  assert.equal(s.length, 1);
  assert.equal(s[0]!.op, op);
  return s[0] as Extract<FaultStep, { op: T }>;
};

describe('fault plans: partition', () => {
  it('should drop edge↔cloud both ways with an nft table in the node that is deleted on revert', () => {
    const s = only(steps('partition'), 'exec');
    assert.equal(s.node, 'edge-1');
    assert.deepEqual(s.argv, ['nft', '-f', '-']);
    assert.match(s.input!, /table inet ec_f1 \{/);
    assert.match(s.input!, /hook input priority -10; policy accept; ip saddr \{ 10\.77\.0\.2 \} drop;/);
    assert.match(s.input!, /hook output priority -10; policy accept; ip daddr \{ 10\.77\.0\.2 \} drop;/);
    assert.deepEqual(s.undo, ['nft', 'delete', 'table', 'inet', 'ec_f1']);
  });
  it('should cut one way only when asked', () => {
    const out = only(steps('partition', { direction: 'out' }), 'exec');
    assert.doesNotMatch(out.input!, /hook input/);
    assert.match(out.input!, /hook output/);
    const inn = only(steps('partition', { direction: 'in', action: 'reject' }), 'exec');
    assert.match(inn.input!, /hook input.*reject/);
    assert.doesNotMatch(inn.input!, /hook output/);
  });
  it('should cut edge↔edge (all or one peer) and client↔edge', () => {
    assert.match(only(steps('partition', { between: 'edge-edge' }), 'exec').input!, /\{ 10\.77\.0\.12 \}/);
    assert.match(
      only(steps('partition', { between: 'edge-edge', peer: 'edge-2' }), 'exec').input!,
      /\{ 10\.77\.0\.12 \}/,
    );
    assert.match(only(steps('partition', { between: 'client-edge' }), 'exec').input!, /\{ 10\.77\.0\.1 \}/);
    assert.match(
      only(steps('partition', {}, { node: 'cloud' }), 'exec').input!,
      /\{ 10\.77\.0\.11, 10\.77\.0\.12 \}/,
    );
  });
});

describe('fault plans: toxics', () => {
  it('should add a latency toxic with jitter on the edge uplink proxy', () => {
    const s = only(steps('latency', { latency: '150ms', jitter: '50ms' }), 'toxic');
    assert.deepEqual(s.uplink, { api: 'http://10.77.0.2:8474', proxy: 'uplink-edge-1' });
    assert.deepEqual(s.toxic, {
      name: 'ec_f1_latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 150, jitter: 50 },
    });
    assert.equal(steps('latency', { latency: 10, stream: 'both' }).length, 2);
  });
  it('should cap bandwidth via toxiproxy (KB/s) or tbf', () => {
    assert.deepEqual(only(steps('bandwidth', { rate: '64kbps' }), 'toxic').toxic.attributes, { rate: 8 });
    assert.deepEqual(only(steps('bandwidth', { rate: '1MB/s' }), 'toxic').toxic.attributes, { rate: 1000 });
    const tbf = only(steps('bandwidth', { rate: '256kbit', via: 'tbf' }), 'exec');
    assert.deepEqual(tbf.argv, [
      'tc',
      'qdisc',
      'add',
      'dev',
      'eth0',
      'root',
      'tbf',
      'rate',
      '256000bit',
      'burst',
      '1600',
      'latency',
      '400ms',
    ]);
    assert.deepEqual(tbf.undo, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
  });
  it('should plan reset-peer, timeout and slicer toxics', () => {
    assert.deepEqual(only(steps('reset-peer', { timeout: '100ms' }), 'toxic').toxic.attributes, {
      timeout: 100,
    });
    assert.equal(only(steps('reset-peer'), 'toxic').toxic.type, 'reset_peer');
    assert.deepEqual(only(steps('timeout'), 'toxic').toxic.attributes, { timeout: 0 });
    assert.deepEqual(
      only(steps('slicer', { averageSize: 100, sizeVariation: 10, delay: '1ms' }), 'toxic').toxic.attributes,
      {
        average_size: 100,
        size_variation: 10,
        delay: 1000,
      },
    );
  });
});

describe('fault plans: flap', () => {
  it('should give the same schedule for the same seed and stay within the duration', () => {
    const p = { between: 'edge-cloud' as const, minDownMs: 100, maxDownMs: 500, minUpMs: 100, maxUpMs: 500 };
    const a = flapSchedule(p, 10_000, 42);
    assert.deepEqual(a, flapSchedule(p, 10_000, 42));
    assert.notDeepEqual(a, flapSchedule(p, 10_000, 43));
    assert.ok(a.length > 3);
    for (const w of a) assert.ok(w.downAt < w.upAt && w.upAt <= 10_000);
  });
  it('should create the table first, then toggle drop rules on its own clock', () => {
    const s = steps(
      'flap',
      { minDown: '100ms', maxDown: '200ms', minUp: '100ms', maxUp: '200ms' },
      { durationMs: 2000 },
    );
    const first = s[0] as Extract<FaultStep, { op: 'exec' }>;
    assert.deepEqual(first.undo, ['nft', 'delete', 'table', 'inet', 'ec_f1']);
    const later = s.slice(1) as Extract<FaultStep, { op: 'after' }>[];
    assert.ok(later.length >= 2 && later.every((x) => x.op === 'after'));
    assert.match(
      (later[0]!.steps[0] as Extract<FaultStep, { op: 'exec' }>).input!,
      /add rule inet ec_f1 in ip saddr \{ 10\.77\.0\.2 \} drop/,
    );
    assert.match(
      (later[1]!.steps[0] as Extract<FaultStep, { op: 'exec' }>).input!,
      /flush chain inet ec_f1 in/,
    );
  });
});

describe('fault plans: processes and resources', () => {
  it('should run stress-ng inside the node cgroup with a self-timeout', () => {
    const s = only(steps('cpu-stress', { workers: 2 }), 'spawn');
    assert.equal(s.inResourceGroup, true);
    assert.deepEqual(s.argv, [
      'stress-ng',
      '--cpu',
      '2',
      '--cpu-load',
      '100',
      '--cpu-method',
      'int64',
      '--timeout',
      '40s',
    ]);
  });
  it('should size memory-stress from the node limit', () => {
    const s = only(steps('memory-stress', { size: '50%' }, { node: 'edge-2' }), 'spawn');
    assert.deepEqual(s.argv.slice(0, 5), ['stress-ng', '--vm', '1', '--vm-bytes', String(128 * 2 ** 20)]);
    const b = only(steps('memory-stress', { size: '64MiB', workers: 2 }), 'spawn');
    assert.equal(b.argv[4], String(64 * 2 ** 20), 'the total: stress-ng shares it among workers');
  });
  it('should kill, then restart after the delay and again on revert', () => {
    const p = planFault(f('kill', { restartAfter: '2s' }), ctx);
    assert.deepEqual(p.steps[0], {
      op: 'signal',
      node: 'edge-1',
      what: "SIGKILL edge-1's stack",
      signal: 'SIGKILL',
    });
    assert.equal(p.steps[1]!.op, 'after');
    assert.equal((p.steps[1] as Extract<FaultStep, { op: 'after' }>).delayMs, 2000);
    assert.equal(p.onRevert[0]!.op, 'start');
    assert.deepEqual(planFault(f('kill', { restart: 'false' }), ctx).onRevert, []);
  });
  it('should pause with the freezer or SIGSTOP, and restart the whole node', () => {
    assert.equal(only(steps('pause'), 'freeze').method, 'freezer');
    assert.equal(only(steps('pause', { method: 'sigstop' }), 'freeze').method, 'sigstop');
    const r = steps('restart-node', { downFor: '1s' });
    assert.deepEqual(
      r.map((x) => x.op),
      ['kill-all', 'after'],
    );
  });
});

describe('fault params: validation names the param before anything changes', () => {
  const bad: [string, Record<string, unknown>, RegExp, Partial<ResolvedFault>?][] = [
    ['latency', { latency: '-5ms' }, /param latency: must not be negative/],
    ['latency', { latency: -5 }, /param latency: must not be negative/],
    ['latency', {}, /param latency: is required/],
    ['latency', { latency: '10ms', lantecy: '5ms' }, /param lantecy: unknown param/],
    ['bandwidth', { rate: '0kbps' }, /param rate: must be greater than 0/],
    ['bandwidth', { rate: 0 }, /param rate: must be greater than 0/],
    ['bandwidth', { rate: 'fast' }, /param rate: cannot read/],
    ['bandwidth', { rate: '4kbit' }, /below toxiproxy's 1 KB\/s minimum/],
    ['partition', { direction: 'sideways' }, /param direction: must be one of both, in, out/],
    ['partition', { between: 'edge-moon' }, /param between: must be one of/],
    ['partition', { between: 'edge-edge', peer: 'edge-9' }, /param peer: "edge-9" is not another edge/],
    ['partition', { peer: 'edge-2' }, /param peer: only applies to between=edge-edge/],
    ['cpu-stress', { workers: 0 }, /param workers: must be ≥ 1/],
    ['cpu-stress', { workers: 1.5 }, /param workers: must be a whole number/],
    ['memory-stress', { size: '-1MiB' }, /param size/],
    ['slicer', { averageSize: 10, sizeVariation: 10 }, /param sizeVariation: must be smaller/],
    ['pause', { method: 'nap' }, /param method/],
    ['kill', { signal: 'SIGHUP' }, /param signal/],
    ['latency', { latency: '10ms' }, /applies to edge nodes/, { node: 'cloud' }],
    ['latency', { latency: '10ms' }, /no node "edge-9"/, { node: 'edge-9' }],
    ['flap', {}, /needs a duration/, { durationMs: undefined }],
    ['earthquake', {}, /unknown fault kind "earthquake"/],
  ];
  for (const [kind, params, re, extra] of bad) {
    it(`should reject ${kind} ${JSON.stringify(params)}${extra ? ` ${JSON.stringify(extra)}` : ''}`, () => {
      assert.throws(
        () => planFault(f(kind, params, extra), ctx),
        (e: unknown) => e instanceof UsageError && re.test(e.message),
      );
    });
  }
});
