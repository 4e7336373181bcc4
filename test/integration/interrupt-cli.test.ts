import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readJournal } from '../../src/core/cleanup/journal.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { pidsWithToken } from '../../src/core/proc.ts';
import { localNames } from '../../src/targets/local/names.ts';
import { saysApplied } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-intr-'));
const env = { EDGECHAOS_STATE_DIR: join(dir, 'state'), EDGECHAOS_REPORTS_DIR: join(dir, 'reports') };

function start(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

async function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = start(args);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  return { code, out, err };
}

/** Namespaces, links and cgroups of a local run still present. */
function leftovers(runId: string): string[] {
  const names = localNames(runId);
  const ls = (d: string): string[] => (existsSync(d) && statSync(d).isDirectory() ? readdirSync(d) : []);
  const cgroups = ['cpu', 'memory', 'freezer', 'unified'].flatMap((c) => {
    const root = `/sys/fs/cgroup/${c}`;
    // the node groups sit at most one level down (under an edgechaos parent, if any)
    return [root, ...ls(root).map((d) => join(root, d))].flatMap((d) =>
      ls(d)
        .filter((n) => n.startsWith(`ec-${runId}`))
        .map((n) => `cgroup ${join(d, n)}`),
    );
  });
  return [
    ...ls('/run/netns')
      .filter((n) => n.startsWith(`ec-${runId}`))
      .map((n) => `netns ${n}`),
    ...ls('/sys/class/net')
      .filter((n) => n.startsWith(`ec${names.tag}`))
      .map((n) => `link ${n}`),
    ...cgroups,
  ];
}

/** The inject commands' journals in the state dir, with what they still hold. */
function injectJournals(): { runId: string; pending: number }[] {
  return readdirSync(env.EDGECHAOS_STATE_DIR)
    .filter((f) => f.startsWith('inj-') && f.endsWith('.journal'))
    .map((f) => readJournal(join(env.EDGECHAOS_STATE_DIR, f)))
    .map((j) => ({ runId: j.runId, pending: j.pending.length }));
}

/** Start `inject cpu-stress` for 10 minutes; resolves once applied, with the inject's run id. */
async function stressFor10m(): Promise<{
  child: ChildProcessWithoutNullStreams;
  runId: string;
  exited: Promise<number | null>;
  err: () => string;
}> {
  const child = start(['inject', 'cpu-stress', '--node', 'edge-1', '--for', '10m', '--param', 'workers=1']);
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  assert.ok(await saysApplied(child), `inject exited ${String(child.exitCode)}: ${err}`);
  const [j] = injectJournals();
  assert.ok(j, 'the inject journal exists');
  assert.ok(pidsWithToken(j.runId).length >= 1, 'stress-ng runs');
  return { child, runId: j.runId, exited, err: () => err };
}

describe('Ctrl-C on a real command (inject on a deployment)', () => {
  let runId: string | undefined;
  before(async () => {
    const d = await cli(['deploy', '--nodes', '1', '--json']);
    assert.equal(d.code, 0, d.err);
    runId = (JSON.parse(d.out) as { runId: string }).runId;
  });
  after(async () => {
    if (runId) await cli(['destroy', '--run', runId]);
    // whatever a failed test left journaled in this state dir
    await cli(['cleanup', '--force']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('should revert and exit 130 on the first Ctrl-C', async () => {
    const s = await stressFor10m();
    s.child.kill('SIGINT');
    assert.equal(await s.exited, 130, s.err());
    assert.deepEqual(pidsWithToken(s.runId), [], 'stress-ng left running');
    assert.deepEqual(injectJournals(), [], 'journal left behind');
  });

  it('should force-revert everything and exit 130 on a second Ctrl-C during a deploy', async (t) => {
    // A deploy interrupted while it brings a topology up: the first Ctrl-C starts the graceful
    // teardown, the second forces the revert of whatever the journal holds.
    const child = start(['deploy', '--nodes', '3']);
    t.after(() => child.kill('SIGKILL'));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    const deployJournal = (): { runId: string; pending: number } | undefined =>
      readdirSync(env.EDGECHAOS_STATE_DIR)
        .filter((f) => f.startsWith('dep-') && f.endsWith('.journal') && !f.startsWith(`${runId}.`))
        .map((f) => readJournal(join(env.EDGECHAOS_STATE_DIR, f)))
        .map((j) => ({ runId: j.runId, pending: j.pending.length }))[0];
    // wait until the stack processes are journaled (namespaces, links, cgroups come before them)
    let j = deployJournal();
    for (let i = 0; i < 600 && !(j && j.pending >= 5); i++) {
      await new Promise((r) => setTimeout(r, 10));
      j = deployJournal();
    }
    assert.ok(j && j.pending >= 5, `deploy journal: ${JSON.stringify(j)} ${err}`);
    assert.ok(leftovers(j.runId).length > 0, 'the deploy has created namespaces, links and cgroups');
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    assert.equal(await exited, 130, err);
    assert.match(err, /forcing revert/, 'the second Ctrl-C came too late to test the forced path');
    // leftovers: none
    assert.deepEqual(pidsWithToken(j.runId), [], 'processes left running');
    const netns = await cli(['doctor', '--json']).then(() =>
      readdirSync('/run/netns').filter((n) => n.startsWith(`ec-${j.runId}`)),
    );
    assert.deepEqual(netns, [], 'namespaces left');
    const held = readdirSync(env.EDGECHAOS_STATE_DIR)
      .filter((f) => f.startsWith(`${j.runId}.`) && f.endsWith('.journal'))
      .flatMap((f) =>
        readJournal(join(env.EDGECHAOS_STATE_DIR, f)).pending.map((e) => `${e.kind}: ${e.what}`),
      );
    assert.equal(
      deployJournal(),
      undefined,
      `journal left behind, holding ${held.join('; ')}; stderr: ${err}`,
    );
  });

  it('should refuse --for 600h before applying anything (timers overflow at 2^31 ms)', async () => {
    const r = await cli(['inject', 'partition', '--node', 'edge-1', '--for', '600h']);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err.trim(), 'edgechaos: --for: "600h" is longer than the maximum of 7 days (168h)');
    assert.deepEqual(injectJournals(), []);
  });
});
