import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sweep } from '../../src/core/cleanup/sweep.ts';
import { run } from '../../src/core/proc.ts';
import { loadStack, type StackManifest } from '../../src/stack/manifest.ts';
import { loadInventory } from '../../src/targets/ssh/inventory.ts';
import '../../src/targets/ssh/reverters.ts';
import { TargetError } from '../../src/core/errors.ts';
import { sshColdStartPath, sshColdStarts } from '../../src/targets/ssh/cold-starts.ts';
import { SshTarget } from '../../src/targets/ssh/target.ts';
import { startBoards, type Boards } from '../fixtures/ssh/boards.ts';
import { runHolderThenKill } from '../fixtures/ssh/run-holder.ts';
import { tempDir } from '../helpers/temp.ts';

/** Every cgroup of the run in every v1 hierarchy (runc creates its own beside the target's). */
const cgroupsOf = (runId: string): string[] =>
  readdirSync('/sys/fs/cgroup').flatMap((h) => {
    try {
      return readdirSync(`/sys/fs/cgroup/${h}`)
        .filter((d) => d.includes(runId))
        .map((d) => `${h}/${d}`);
    } catch {
      return [];
    }
  });

const runcState = async (root: string, id: string): Promise<{ status: string; pid: number } | undefined> => {
  const r = await run(['runc', '--root', root, 'state', id], { allowFailure: true });
  return r.code === 0 ? (JSON.parse(r.stdout) as { status: string; pid: number }) : undefined;
};

const healthy = (url: string): Promise<boolean> =>
  fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) })
    .then((r) => r.status === 200)
    .catch(() => false);

describe('ssh target runtime: the edge image as a runc container where a board has runc, else the process', () => {
  let boards: Boards;
  let stack: StackManifest;
  const state = tempDir('ssh-oci-state');
  const runs = tempDir('ssh-oci-runs');
  const saved = { state: process.env['EDGECHAOS_STATE_DIR'], rt: process.env['EDGECHAOS_RUNTIME'] };
  let n = 0;
  const runId = (): string => `sshoci${process.pid}x${++n}`;

  before(async () => {
    process.env['EDGECHAOS_STATE_DIR'] = state.path;
    // the default (no --runtime): oci where the board has runc; edge-2's runc is hidden
    delete process.env['EDGECHAOS_RUNTIME'];
    boards = await startBoards(['cloud', 'edge-1', 'edge-2'], { withoutRunc: ['edge-2'] });
    stack = await loadStack();
  });
  after(async () => {
    await boards?.[Symbol.asyncDispose]();
    for (const [k, v] of [
      ['EDGECHAOS_STATE_DIR', saved.state],
      ['EDGECHAOS_RUNTIME', saved.rt],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    state[Symbol.dispose]();
    runs[Symbol.dispose]();
  });

  it('should by default run the image with runc in the board cgroup, kill and restart it through runc, and leave nothing on destroy', async () => {
    const inv = await loadInventory(boards.inventory());
    const id = runId();
    {
      await using registry = CleanupRegistry.open(id);
      const dep = await new SshTarget(inv).deploy(
        stack,
        { edges: [{ name: 'edge-1' }] },
        { runId: id, runDir: runs.path, registry },
      );
      try {
        const oci = dep.stacks.get('edge-1')?.oci;
        assert.ok(oci, 'edge-1 runs as a container');
        const hub = dep.stacks.get('cloud')?.oci;
        assert.ok(hub, 'the hub runs its image on the cloud board (runc there)');
        assert.equal((await runcState(hub.root, hub.id))?.status, 'running');
        assert.ok(await healthy(dep.hubUrl));
        const st = await runcState(oci.root, oci.id);
        assert.equal(st?.status, 'running');
        // the image's files, not the board's: its entrypoint is in the container's rootfs
        assert.ok(readdirSync(`/proc/${st.pid}/root`).includes('edge-agent'));
        assert.match(
          readFileSync(`/proc/${st.pid}/cgroup`, 'utf8'),
          new RegExp(`memory:/ec-${id}-edge-1/ctr`),
        );
        assert.ok(await healthy(dep.edges[0]!.url));
        // kill -9 reaches the container (a SIGKILL of `runc run` alone would not)
        await dep.signalStack('edge-1', 'SIGKILL');
        for (let i = 0; i < 50 && (await healthy(dep.edges[0]!.url)); i++)
          await new Promise((r) => setTimeout(r, 100));
        assert.equal(await healthy(dep.edges[0]!.url), false, 'killed');
        await dep.startStack('edge-1');
        assert.equal((await runcState(oci.root, oci.id))?.status, 'running', 'restarted');
      } finally {
        await dep.teardown();
      }
    }
    assert.deepEqual(cgroupsOf(id), [], 'no cgroup left in any hierarchy');
    assert.deepEqual(readdirSync(boards.board('edge-1').dir), [], 'board folder empty');
    assert.deepEqual(
      readdirSync(state.path).filter((f) => f.endsWith('.journal')),
      [],
    );
  });

  it('should let cleanup remove the container after the harness was killed', async () => {
    const inventory = boards.inventory({ safetyTtl: '120s' });
    const id = runId();
    await runHolderThenKill({
      inventory,
      runId: id,
      runDir: runs.path,
      stateDir: state.path,
      readyMs: 60_000,
      edges: ['edge-1', 'edge-2'],
    });
    const root = `${boards.board('edge-1').dir}/${id}/oci/runc`;
    assert.equal(
      (await runcState(root, `ec-${id}-edge-1`))?.status,
      'running',
      'the container outlived the harness',
    );
    const rep = await sweep({ dir: state.path });
    const mine = rep.runs.find((r) => r.runId === id)!;
    assert.deepEqual(mine.failed, []);
    assert.ok(
      mine.reverted.some((w) => w.startsWith(`container ec-${id}-edge-1`)),
      mine.reverted.join('; '),
    );
    assert.ok(
      mine.reverted.some((w) => w.startsWith(`container ec-${id}-cloud`)),
      `the hub's container: ${mine.reverted.join('; ')}`,
    );
    assert.ok(
      mine.reverted.some((w) => w.includes('edge-2')),
      `the fallback board's process is journaled too: ${mine.reverted.join('; ')}`,
    );
    assert.deepEqual(cgroupsOf(id), []);
    for (const b of ['cloud', 'edge-1', 'edge-2']) assert.deepEqual(readdirSync(boards.board(b).dir), [], b);
  });

  it('should refuse --runtime oci naming the board without runc, before anything changes', async () => {
    const inv = await loadInventory(boards.inventory());
    const id = runId();
    process.env['EDGECHAOS_RUNTIME'] = 'oci';
    try {
      await using registry = CleanupRegistry.open(id);
      await assert.rejects(
        new SshTarget(inv).deploy(
          stack,
          { edges: [{ name: 'edge-1' }, { name: 'edge-2' }] },
          { runId: id, runDir: runs.path, registry },
        ),
        (e: unknown) =>
          e instanceof TargetError &&
          /--runtime oci: no OCI runtime \(runc\) on edge-2:/.test(e.message) &&
          !e.message.includes('edge-1'),
      );
    } finally {
      delete process.env['EDGECHAOS_RUNTIME'];
    }
    for (const b of ['cloud', 'edge-1', 'edge-2']) assert.deepEqual(readdirSync(boards.board(b).dir), [], b);
    assert.deepEqual(cgroupsOf(id), []);
  });

  it('should fall back to the process on the board without runc, say why, and sample start-up as containers', async () => {
    const inv = await loadInventory(boards.inventory());
    // preflight (doctor) says which boards have runc
    const probed = await new SshTarget(inv).probe();
    assert.ok(
      probed
        .find((p) => p.node === 'edge-2')
        ?.warnings.includes('edge-2: no OCI runtime (runc) on the board: the stack runs as a process here'),
    );
    assert.equal(probed.find((p) => p.node === 'edge-1')?.facts?.tools.runc, true);
    const id = runId();
    const runDir = join(runs.path, id);
    mkdirSync(runDir);
    {
      await using registry = CleanupRegistry.open(id);
      const dep = await new SshTarget(inv).deploy(
        stack,
        { edges: [{ name: 'edge-1' }, { name: 'edge-2' }] },
        { runId: id, runDir, registry },
      );
      try {
        assert.ok(dep.stacks.get('edge-1')?.oci, 'edge-1 (runc) runs the image');
        assert.equal(dep.stacks.get('edge-2')?.oci, undefined, 'edge-2 (no runc) runs the process');
        const rt = dep.runtimes();
        assert.equal(rt['edge-1']?.runtime, 'oci');
        assert.deepEqual(rt['edge-2'], {
          runtime: 'process',
          reason: 'no OCI runtime (runc) on the board: fell back to the process',
        });
        assert.equal(rt['cloud']?.runtime, 'oci');
        const files = JSON.parse(readFileSync(join(runDir, 'ssh-boards.json'), 'utf8')) as {
          node: string;
          runtime: string;
          runtimeReason: string;
        }[];
        assert.deepEqual(
          files.map((f) => [f.node, f.runtime]),
          [
            ['cloud', 'oci'],
            ['edge-1', 'oci'],
            ['edge-2', 'process'],
          ],
        );
        for (const e of dep.edges) assert.ok(await healthy(e.url), e.name);
        // every start-up sample is the edge's container: runc creates <root>/<id> for each
        const oci = dep.stacks.get('edge-1')!.oci!;
        assert.equal(sshColdStartPath(dep), 'container');
        const seen = new Set<string>();
        const w = watch(oci.root, (_e, f) => f && seen.add(String(f)));
        let ms: number[];
        try {
          ms = await sshColdStarts(dep, stack, 3, AbortSignal.timeout(60_000));
        } finally {
          w.close();
        }
        assert.equal(ms.length, 3);
        for (const x of ms) assert.ok(x > 0 && x < 20_000, String(x));
        assert.deepEqual(
          [...seen].filter((f) => f.startsWith(`${oci.id}-c`)).sort(),
          [0, 1, 2].map((i) => `${oci.id}-c${i}`),
        );
        assert.ok(!existsSync(join(oci.root, `${oci.id}-c0`)), 'sample containers deleted');
        assert.deepEqual(
          cgroupsOf(id).filter((c) => c.includes('cold')),
          [],
        );
        assert.deepEqual(
          cgroupsOf(id).flatMap((c) =>
            readdirSync(`/sys/fs/cgroup/${c}`).filter((d) => d.startsWith('cold-')),
          ),
          [],
          'no sample cgroup left',
        );
      } finally {
        await dep.teardown();
      }
    }
    assert.deepEqual(cgroupsOf(id), []);
    for (const b of ['cloud', 'edge-1', 'edge-2']) assert.deepEqual(readdirSync(boards.board(b).dir), [], b);
    assert.deepEqual(
      readdirSync(state.path).filter((f) => f.endsWith('.journal')),
      [],
    );
  });
});
