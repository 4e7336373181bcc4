import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { conform, type ConformResult } from '../../src/conform/suite.ts';
import { LoopbackStack } from '../../src/stack/loopback.ts';
import { loadStack, referenceStackFile } from '../../src/stack/manifest.ts';
import { tempDir } from '../helpers/temp.ts';

async function conformStack(manifest: string): Promise<ConformResult> {
  using dir = tempDir('conform');
  await using reg = CleanupRegistry.open(`test-conform-${process.pid}`, dir.path);
  await using s = await LoopbackStack.start(await loadStack(manifest), { dir: dir.path, registry: reg });
  return await conform({ edge: s.edge, hub: s.hub, control: s, patienceMs: 6000 });
}

const fixture = (name: string): string => join(repoRoot, 'test/fixtures/stacks', `${name}.stack.ts`);
const failedIds = (r: ConformResult): string[] =>
  r.cases.filter((c) => c.status === 'failed').map((c) => c.id);
const reason = (r: ConformResult, id: string): string => r.cases.find((c) => c.id === id)?.reason ?? '';

describe('conformance suite (real binaries on loopback, real toxiproxy)', () => {
  it('should pass every behaviour of the reference stack', async () => {
    const r = await conformStack(referenceStackFile);
    assert.deepEqual(failedIds(r), [], JSON.stringify(r.cases.filter((c) => c.status !== 'passed')));
    assert.equal(r.passRatio, 1);
  });

  it('should fail a stack that keeps its outbox in memory: acknowledged writes lost on kill -9', async () => {
    const r = await conformStack(fixture('memory-outbox'));
    assert.deepEqual(failedIds(r), ['durable-across-kill']);
    assert.match(reason(r, 'durable-across-kill'), /acknowledged records gone after kill -9/);
  });

  it('should fail a stack that resends without idempotency: duplicates in the ledger', async () => {
    const r = await conformStack(fixture('duplicates'));
    assert.ok(failedIds(r).includes('offline-serving'), JSON.stringify(r.cases));
    assert.match(reason(r, 'offline-serving'), /stored more than once/);
  });

  it('should fail a stack that refuses requests while the cloud is unreachable', async () => {
    const r = await conformStack(fixture('refuse-offline'));
    assert.ok(failedIds(r).includes('offline-serving'));
    assert.match(reason(r, 'offline-serving'), /after the cloud was cut answered 503/);
  });

  it('should fail a stack that serves offline writes at first and refuses them once it has noticed the cut', async () => {
    const r = await conformStack(fixture('refuse-offline-late'));
    assert.ok(failedIds(r).includes('offline-serving'), JSON.stringify(r.cases));
    assert.match(reason(r, 'offline-serving'), /s after the cloud was cut answered 503/);
  });

  it('should fail a stack that never takes config from the cloud', async () => {
    const r = await conformStack(fixture('no-downlink'));
    assert.deepEqual(failedIds(r), ['config-propagation']);
    assert.match(reason(r, 'config-propagation'), /still reports configVersion 0/);
  });

  it('should report behaviours needing control as not run when given only URLs', async () => {
    using dir = tempDir('conform');
    await using reg = CleanupRegistry.open(`test-conform-urls-${process.pid}`, dir.path);
    await using s = await LoopbackStack.start(await loadStack(referenceStackFile), {
      dir: dir.path,
      registry: reg,
    });
    const r = await conform(
      { edge: s.edge, hub: s.hub },
      { only: ['health', 'offline-serving', 'durable-across-kill'] },
    );
    assert.deepEqual(
      r.cases.map((c) => c.status),
      ['passed', 'not-run', 'not-run'],
    );
    assert.ok(Math.abs(r.passRatio - 1 / 3) < 1e-9, 'not-run counts against completeness');
  });
});
