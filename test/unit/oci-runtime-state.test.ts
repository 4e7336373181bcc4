import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { forgetDeadContainer, recordedInit } from '../../src/targets/local/oci/runtime.ts';
import type { ProcessIdentity } from '../../src/core/proc.ts';
import { tempDir } from '../helpers/temp.ts';

// the fields runc 1.1 writes into <root>/<id>/state.json (abridged)
const state = (pid: unknown, start: unknown): string =>
  JSON.stringify({
    id: 'ec-r-edge-1',
    init_process_pid: pid,
    init_process_start: start,
    created: '2026-12-06T15:00:00Z',
    cgroup_paths: { memory: '/sys/fs/cgroup/memory/ec-r-edge-1/ctr' },
  });

function root(id: string, text?: string): ReturnType<typeof tempDir> {
  const t = tempDir('runc-root');
  mkdirSync(join(t.path, id));
  if (text !== undefined) writeFileSync(join(t.path, id, 'state.json'), text);
  return t;
}

describe('oci runtime: a killed container restarted under the same id', () => {
  it("should read the init's identity as runc records it", () => {
    assert.deepEqual(recordedInit(state(4321, 987654)), { pid: 4321, startTime: '987654' });
    assert.equal(recordedInit(state(0, 1)), undefined);
    assert.equal(recordedInit(state('4321', 1)), undefined);
    assert.equal(recordedInit(state(4321, undefined)), undefined);
    assert.equal(recordedInit('not json'), undefined);
    assert.equal(recordedInit('null'), undefined);
  });

  it('should forget the state of a container whose init is dead, and only its state', () => {
    using t = root('ec-r-edge-1', state(4321, 987654));
    const asked: ProcessIdentity[] = [];
    const dead = (p: ProcessIdentity): boolean => (asked.push(p), false);
    assert.equal(forgetDeadContainer('ec-r-edge-1', t.path, dead), true);
    assert.deepEqual(asked, [{ pid: 4321, startTime: '987654' }]);
    assert.equal(existsSync(join(t.path, 'ec-r-edge-1')), false);
  });

  it('should leave a container whose init still lives to runc delete', () => {
    using t = root('ec-r-edge-1', state(4321, 987654));
    assert.equal(
      forgetDeadContainer('ec-r-edge-1', t.path, () => true),
      false,
    );
    assert.equal(existsSync(join(t.path, 'ec-r-edge-1', 'state.json')), true);
  });

  it('should leave unreadable or foreign state to runc delete', () => {
    for (const text of [undefined, '{"id":"x"}', 'garbage']) {
      using t = root('ec-r-edge-1', text);
      assert.equal(
        forgetDeadContainer('ec-r-edge-1', t.path, () => false),
        false,
      );
      assert.equal(existsSync(join(t.path, 'ec-r-edge-1')), true);
    }
  });

  it("should judge this process's own identity alive and a made-up one dead (the default probe)", () => {
    using t = root('ec-r-edge-1', state(process.pid, 1));
    assert.equal(
      forgetDeadContainer('ec-r-edge-1', t.path),
      true,
      'pid reused with another start time: dead',
    );
  });
});
