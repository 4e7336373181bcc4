import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prevalidateFaults } from '../../faults/catalogue.ts';
import { diskFull } from '../../faults/disk-full.ts';
import { ioError } from '../../faults/io-error.ts';
import { run } from '../../src/core/proc.ts';
import { preflightScript } from '../../src/targets/ssh/board-scripts.ts';
import { bundledTool } from '../../src/targets/ssh/board-files.ts';
import { boardDataPlan, dataLayerWhyNot } from '../../src/targets/ssh/data-layer.ts';
import { boardLayout } from '../../src/targets/ssh/layout.ts';
import { parsePreflight } from '../../src/targets/ssh/preflight.ts';
import { sshPlugin } from '../../src/targets/ssh/plugin.ts';
import type { PlanContext } from '../../faults/types.ts';

describe('ssh data layer (pure parts)', () => {
  const l = boardLayout('/var/lib/edgechaos', 'dep-20261206-1300-ab12', 'edge-1', {
    cgroup: 'v2',
    v1Controllers: [],
  });

  it("should put the disk beside the stack's data dir, the layer over it, and the tool in the run's bin", () => {
    const p = boardDataPlan(l, {
      runId: 'dep-20261206-1300-ab12',
      node: 'edge-1',
      sizeBytes: 2 ** 26,
      seed: 1,
    });
    assert.equal(p.mount, l.data);
    assert.equal(p.backing, `${l.data}.disk`);
    assert.equal(p.tool, `${l.bin}/ec-fusefs`);
    assert.deepEqual(p.argv, [
      p.tool,
      'mount',
      '-backing',
      p.backing,
      '-mount',
      l.data,
      '-ctl',
      p.socket,
      '-seed',
      '1',
    ]);
    assert.deepEqual(p.layer, {
      ctl: [p.tool, 'ctl', p.socket],
      tool: [p.tool],
      backingDir: p.backing,
      sizeBytes: 2 ** 26,
    });
    // a unix socket path has at most 107 bytes, whatever the board's dir
    const long = boardLayout(`/${'d'.repeat(120)}`, 'r'.repeat(41), 'edge-12', {
      cgroup: 'v2',
      v1Controllers: [],
    });
    const q = boardDataPlan(long, { runId: 'r'.repeat(41), node: 'edge-12', sizeBytes: 2 ** 20, seed: 12 });
    assert.ok(q.socket.length <= 100, q.socket);
  });

  it('should plan the disk faults with the board paths (their undos run on the board)', () => {
    const p = boardDataPlan(l, { runId: 'x', node: 'edge-1', sizeBytes: 2 ** 26, seed: 1 });
    const ctx: PlanContext = {
      nodes: [{ name: 'edge-1', role: 'edge', address: '10.0.0.2' }],
      clientAddresses: [],
      uplinkProxy: () => undefined,
      uplinkDevice: () => 'eth0',
      dataLayer: () => p.layer,
    };
    const fault = { id: 'f1', kind: 'disk-full', node: 'edge-1', params: {} };
    const d = diskFull.plan({}, fault, ctx).steps[0]!;
    assert.ok(d.op === 'exec');
    assert.equal(d.argv[0], `${l.bin}/ec-fusefs`);
    assert.deepEqual(d.undo?.slice(0, 2), [`${l.bin}/ec-fusefs`, 'release']);
    const e = ioError.plan({ ops: ['write'], prob: 1, errno: 'EIO' }, { ...fault, kind: 'io-error' }, ctx)
      .steps[0]!;
    assert.ok(e.op === 'exec');
    assert.deepEqual(e.undo, [
      `${l.bin}/ec-fusefs`,
      'ctl',
      '-if-running',
      p.socket,
      'clear',
      'io-error',
      'op=write',
    ]);
  });

  it('should say which of /dev/fuse and tmpfs a board lacks', () => {
    assert.equal(dataLayerWhyNot({ fuse: true, tmpfs: true }), undefined);
    assert.equal(dataLayerWhyNot({ fuse: false, tmpfs: true }), 'no /dev/fuse on the board');
    assert.equal(dataLayerWhyNot({}), 'no /dev/fuse and no tmpfs on the board');
  });

  it('should read /dev/fuse and tmpfs from the preflight script (run here: this machine has both)', async () => {
    const r = await run(['sh', '-c', preflightScript, 'ec-preflight', '/tmp']);
    const f = parsePreflight(r.stdout);
    assert.equal(f.fuse, true);
    assert.equal(f.tmpfs, true);
    assert.equal(parsePreflight('fuse=0\ntmpfs=1\n').fuse, false);
  });

  it('should find the bundled ec-fusefs per arch only when its ELF header says that arch', () => {
    assert.match(bundledTool('ec-fusefs', 'amd64') ?? '', /linux-amd64\/ec-fusefs$/);
    assert.match(bundledTool('ec-fusefs', 'arm64') ?? '', /linux-arm64\/ec-fusefs$/);
    assert.equal(bundledTool('ec-fusefs', 'amd64', '/nonexistent'), undefined);
  });

  it('should offer the disk faults on the ssh target (refused per board at deploy where a board has no layer)', () => {
    assert.ok(sshPlugin.capabilities.includes('data'));
    for (const kind of ['disk-full', 'io-error', 'io-latency', 'power-loss'])
      prevalidateFaults([{ id: 'f1', kind, node: 'edge-1', params: {} }], ['edge-1'], sshPlugin);
  });
});
