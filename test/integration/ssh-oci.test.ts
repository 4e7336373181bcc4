import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sweep } from '../../src/core/cleanup/sweep.ts';
import { run } from '../../src/core/proc.ts';
import { loadStack, type StackManifest } from '../../src/stack/manifest.ts';
import { loadInventory } from '../../src/targets/ssh/inventory.ts';
import '../../src/targets/ssh/reverters.ts';
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

describe('ssh target, --runtime oci: the edge image as a runc container on a board', () => {
  let boards: Boards;
  let stack: StackManifest;
  const state = tempDir('ssh-oci-state');
  const runs = tempDir('ssh-oci-runs');
  const saved = { state: process.env['EDGECHAOS_STATE_DIR'], rt: process.env['EDGECHAOS_RUNTIME'] };
  let n = 0;
  const runId = (): string => `sshoci${process.pid}x${++n}`;

  before(async () => {
    process.env['EDGECHAOS_STATE_DIR'] = state.path;
    process.env['EDGECHAOS_RUNTIME'] = 'oci';
    boards = await startBoards(['cloud', 'edge-1']);
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

  it('should run the image with runc in the board cgroup, kill and restart it through runc, and leave nothing on destroy', async () => {
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
        assert.equal(dep.stacks.get('cloud')?.oci, undefined, 'the hub stays a process');
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
    assert.deepEqual(cgroupsOf(id), []);
    assert.deepEqual(readdirSync(boards.board('edge-1').dir), []);
    assert.deepEqual(readdirSync(boards.board('cloud').dir), []);
  });
});
