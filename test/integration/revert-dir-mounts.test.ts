import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { mountsAt, unmountAll } from '../../src/core/mounts.ts';
import { run } from '../../src/core/proc.ts';

// A forced revert (second Ctrl-C of deploy) can remove a run's data dirs while a setup `mount -t
// tmpfs` is still in flight: the mount lands after its own revert found nothing mounted. The dir's
// revert must then unmount it, not fail with EBUSY (interrupt-cli saw "data dirs of …: EBUSY … rmdir
// …/data/edge-2.disk", the journal left behind) nor delete what the mount holds.
describe('a directory revert with a mount under it', () => {
  const root = mkdtempSync(join(tmpdir(), 'edgechaos-dirmount-'));
  process.env['EDGECHAOS_STATE_DIR'] = join(root, 'state');
  after(async () => {
    await unmountAll(root);
    await run(['rm', '-rf', root]);
  });

  it('should unmount what landed under the dir, remove it, and leave the journal empty', async () => {
    const runDir = join(root, 'run');
    const data = join(runDir, 'data');
    const disk = join(data, 'edge-2.disk');
    mkdirSync(disk, { recursive: true });
    const reg = CleanupRegistry.open('dirmount1');
    const h = reg.add('dir', 'data dirs of dirmount1', { path: data, root: runDir });
    // the late mount, with a file in it
    await run(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'ec-test-late', disk]);
    writeFileSync(join(disk, 'x'), 'x');
    assert.deepEqual(mountsAt(data), [disk]);
    await h.revert();
    assert.deepEqual(mountsAt(root), [], 'a tmpfs is still mounted under the run dir');
    assert.equal(existsSync(data), false, 'the data dir is still there');
    assert.equal(reg.pending().length, 0, 'the journal still holds the dir');
  });
});
