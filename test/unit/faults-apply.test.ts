import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyFault } from '../../faults/apply.ts';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { registerReverter } from '../../src/core/cleanup/reverters.ts';
import { FaultRevertError, UsageError } from '../../src/core/errors.ts';
import type { RunResult } from '../../src/core/proc.ts';
import type { FaultSurface, NodeShell } from '../../faults/capabilities.ts';

/** A fake deployment that records what a fault does: plans executed without root. */
function fakeDeployment(
  log: string[],
  opts: { failUndoOf?: string; failExec?: string; startMs?: number } = {},
): FaultSurface {
  let running = true;
  registerReverter('test-undo', (d) => {
    const argv = d['argv'] as string[];
    log.push(`undo ${argv.join(' ')}`);
    if (opts.failUndoOf && argv.join(' ').includes(opts.failUndoOf))
      return Promise.reject(new Error('undo broke'));
    return Promise.resolve();
  });
  const shell = (node: string): NodeShell => ({
    node,
    exec: (argv) => {
      log.push(`exec ${node} ${argv.join(' ')}`);
      if (opts.failExec && argv.join(' ').includes(opts.failExec))
        return Promise.reject(new Error('exec broke'));
      return Promise.resolve({ code: 0, signal: null, stdout: '', stderr: '' } satisfies RunResult);
    },
    undoEntry: (argv) => ({ kind: 'test-undo', data: { argv: [...argv] } }),
    spawn: () => Promise.reject(new Error('not in this fake')),
  });
  const nodes = [
    { name: 'cloud', role: 'cloud' as const, address: '10.0.0.2' },
    { name: 'edge-1', role: 'edge' as const, address: '10.0.0.11' },
  ];
  const notUsed = (): never => {
    throw new Error('not used');
  };
  // Only the capabilities these tests use: a shell, and the stack's signal/start.
  return {
    target: 'fake',
    nodes,
    clientAddresses: ['10.0.0.1'],
    shell,
    stack: {
      // as the local target's: nothing to do when the stack runs (even if not healthy yet)
      startStack: async (n) => {
        if (running && opts.startMs !== undefined) return;
        running = true;
        log.push(`start ${n}`);
        if (opts.startMs !== undefined) {
          await new Promise((r) => setTimeout(r, opts.startMs));
          log.push(`healthy ${n}`);
        }
      },
      signalStack: (n, sig) => {
        log.push(`signal ${n} ${sig}`);
        if (sig === 'SIGKILL') running = false;
        return Promise.resolve(1);
      },
      freeze: notUsed,
      killAll: notUsed,
    },
  };
}

describe('applyFault (fake deployment, no root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-apply-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('should journal the undo before the effect and revert once, however often asked', async () => {
    const log: string[] = [];
    await using reg = CleanupRegistry.open('apply-1', dir);
    const dep = fakeDeployment(log);
    const f = await applyFault(dep, { id: 'p', kind: 'partition', node: 'edge-1', params: {} }, reg);
    assert.equal(reg.pending().length, 1, 'undo journaled');
    assert.deepEqual(log, ['exec edge-1 nft -f -']);
    await Promise.all([f.revert(), f.revert()]);
    await f.revert();
    assert.deepEqual(log, ['exec edge-1 nft -f -', 'undo nft delete table inet ec_p']);
    assert.equal(reg.pending().length, 0);
  });

  it('should keep reverting past a failing undo and then report every failure', async () => {
    const log: string[] = [];
    await using reg = CleanupRegistry.open('apply-2', dir);
    const dep = fakeDeployment(log, { failUndoOf: 'ec_b' });
    const a = await applyFault(dep, { id: 'a', kind: 'partition', node: 'edge-1', params: {} }, reg);
    const b = await applyFault(dep, { id: 'b', kind: 'partition', node: 'edge-1', params: {} }, reg);
    await assert.rejects(b.revert(), FaultRevertError);
    await a.revert();
    assert.ok(log.includes('undo nft delete table inet ec_a'));
    // The failed one is still in the journal, so `edgechaos cleanup` retries it later.
    assert.equal(reg.pending().length, 1);
    reg.forget(reg.pending()[0]!.id);
  });

  it('should undo what was applied when a later step fails', async () => {
    const log: string[] = [];
    await using reg = CleanupRegistry.open('apply-3', dir);
    const dep = fakeDeployment(log, { failExec: 'nft -f' });
    await assert.rejects(
      applyFault(dep, { id: 'c', kind: 'partition', node: 'edge-1', params: {} }, reg),
      /exec broke/,
    );
    assert.deepEqual(log, ['exec edge-1 nft -f -', 'undo nft delete table inet ec_c']);
    assert.equal(reg.pending().length, 0);
  });

  it('should run delayed steps on the fault clock and cancel them on revert', async () => {
    const log: string[] = [];
    await using reg = CleanupRegistry.open('apply-4', dir);
    const dep = fakeDeployment(log);
    const k = await applyFault(dep, { kind: 'kill', node: 'edge-1', params: { restartAfter: '30ms' } }, reg);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(log, ['signal edge-1 SIGKILL', 'start edge-1']);
    const k2 = await applyFault(
      dep,
      { kind: 'kill', node: 'edge-1', params: { restartAfter: '10s', restart: 'false' } },
      reg,
    );
    await k2.revert();
    assert.deepEqual(log.slice(2), ['signal edge-1 SIGKILL'], 'the delayed restart was cancelled');
    await k.revert();
    assert.deepEqual(log.slice(3), ['start edge-1'], 'revert makes sure the stack runs');
  });

  it('should wait for a delayed restart already under way before its revert returns', async () => {
    const log: string[] = [];
    await using reg = CleanupRegistry.open('apply-4b', dir);
    const dep = fakeDeployment(log, { startMs: 150 });
    const k = await applyFault(dep, { kind: 'kill', node: 'edge-1', params: { restartAfter: '0ms' } }, reg);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(log, ['signal edge-1 SIGKILL', 'start edge-1'], 'the restart is under way');
    await k.revert();
    assert.deepEqual(log, ['signal edge-1 SIGKILL', 'start edge-1', 'healthy edge-1']);
  });

  it('should refuse a bad fault before touching anything', async () => {
    const log: string[] = [];
    await using reg = CleanupRegistry.open('apply-5', dir);
    const dep = fakeDeployment(log);
    await assert.rejects(applyFault(dep, { kind: 'partition', node: 'edge-3', params: {} }, reg), UsageError);
    await assert.rejects(
      applyFault(dep, { kind: 'latency', node: 'edge-1', params: { latency: '10ms' } }, reg),
      /no uplink proxy/,
    );
    assert.deepEqual(log, []);
    assert.equal(reg.pending().length, 0);
  });

  it('should refuse a fault whose capability the target lacks before its first step', async () => {
    const log: string[] = [];
    await using reg = CleanupRegistry.open('apply-6', dir);
    const dep = fakeDeployment(log);
    // clock-skew's first step (kill-all) is a capability the fake has; its second (start-skewed) is not
    const surface: FaultSurface = {
      ...dep,
      stack: {
        ...dep.stack!,
        killAll: (n) => {
          log.push(`kill-all ${n}`);
          return Promise.resolve(1);
        },
      },
    };
    await assert.rejects(
      applyFault(surface, { kind: 'clock-skew', node: 'edge-1', params: { offset: '+300s' } }, reg),
      /clock-skew: target fake lacks a time namespace .*refused before anything changed/,
    );
    assert.deepEqual(log, [], 'the stack was not killed for a fault that cannot be applied');
    assert.equal(reg.pending().length, 0);
  });
});
