import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { readJournal } from '../../src/core/cleanup/journal.ts';
import { sweep } from '../../src/core/cleanup/sweep.ts';
import { sleep } from '../../src/core/deadline.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { seededRandom } from '../../src/load/rng.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';
import '../../src/targets/local/reverters.ts';
import { saveDeploymentState } from '../../src/targets/local/state.ts';
import { deployLocalEdges } from '../helpers/local-target.ts';

// Process runtime: the assertions read the board's cgroup.procs (the agent is there, not in a
// container's child cgroup); the container runtime is tested in oci-*.test.ts.
process.env['EDGECHAOS_RUNTIME'] = 'process';

const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-revert-'));
const state = join(dir, 'state');
// Every journal of this file (the deployment's and each inject's) lives in its own state dir.
process.env['EDGECHAOS_STATE_DIR'] = state;

function inject(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), 'inject', ...args], {
    cwd: repoRoot,
    env: { ...process.env, EDGECHAOS_STATE_DIR: state, EDGECHAOS_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, out: () => out, exited };
}

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('every fault is reverted: normal end, error, SIGINT, SIGKILL of the harness + cleanup', () => {
  const runId = `tfr${process.pid}`;
  let reg: CleanupRegistry;
  let dep: LocalDeployment;

  const leftovers = async (): Promise<string[]> => {
    const n = dep.local('edge-1');
    const out: string[] = [];
    const tables = (await dep.shell('edge-1').exec(['nft', 'list', 'tables'])).stdout.trim().split('\n');
    if (tables.join() !== 'table inet ec_acct') out.push(`nft tables: ${tables.join(', ')}`);
    const u = dep.uplinkProxy('edge-1')!;
    const toxics = (await (await fetch(`${u.api}/proxies/${u.proxy}/toxics`)).json()) as unknown[];
    if (toxics.length) out.push(`toxics: ${JSON.stringify(toxics)}`);
    const qdisc = (await dep.shell('edge-1').exec(['tc', 'qdisc', 'show', 'dev', 'eth0'])).stdout;
    if (qdisc.includes('tbf')) out.push(`qdisc: ${qdisc.trim()}`);
    const freezer = readFileSync(`${n.cgroups.freezer}/freezer.state`, 'utf8').trim();
    if (freezer !== 'THAWED') out.push(`freezer ${freezer}`);
    const procs = readFileSync(`${n.cgroups.cpu}/cgroup.procs`, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
    const extra = procs.filter((p) => !dep.stackPids('edge-1').includes(p));
    if (extra.length) out.push(`processes in the node cgroup: ${extra.join(' ')}`);
    const journals = readdirSync(state).filter((f) => f.endsWith('.journal') && !f.startsWith(runId));
    if (journals.length) out.push(`journals: ${journals.join(' ')}`);
    return out;
  };

  before(async () => {
    reg = CleanupRegistry.open(runId, state);
    dep = await deployLocalEdges(['rpi4', 'rpi4'], { runId, dir, registry: reg });
    saveDeploymentState(dep.state);
  });
  after(async () => {
    try {
      await dep?.teardown();
      await reg?.close();
      // Nothing of the run is left on the machine.
      const ns = readdirSync('/run/netns').filter((f) => f.includes(runId));
      assert.deepEqual(ns, [], 'namespaces');
      for (const c of ['cpu', 'cpuacct', 'memory', 'freezer'])
        assert.deepEqual(
          readdirSync(`/sys/fs/cgroup/${c}`).filter((f) => f.includes(runId)),
          [],
          `${c} cgroups`,
        );
      const links = readFileSync('/proc/net/dev', 'utf8');
      assert.ok(!links.includes(dep.state.bridge), 'bridge removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should revert when the time is up (normal end)', async () => {
    const r = inject([
      'latency',
      '--node',
      'edge-1',
      '--for',
      '300ms',
      '--run',
      runId,
      '--param',
      'latency=100ms',
    ]);
    assert.equal(await r.exited, 0, r.out());
    assert.match(r.out(), /applied in .*latency \+100ms/);
    assert.deepEqual(await leftovers(), []);
  });

  it('should change nothing and leave no journal on a bad param', async () => {
    const r = inject(['bandwidth', '--node', 'edge-1', '--for', '1s', '--run', runId, '--param', 'rate=0']);
    assert.equal(await r.exited, 2, r.out());
    assert.match(r.out(), /param rate: must be greater than 0/);
    const u = inject(['partition', '--node', 'edge-1', '--run', runId, '--param', 'direction=sideways']);
    assert.equal(await u.exited, 2);
    assert.match(u.out(), /param direction: must be one of both, in, out/);
    assert.deepEqual(await leftovers(), []);
  });

  it('should revert on SIGINT (Ctrl-C)', async () => {
    const r = inject(['partition', '--node', 'edge-1', '--for', '60s', '--run', runId]);
    const until = performance.now() + 15_000;
    while (!r.out().includes('applied') && performance.now() < until) await sleep(20);
    assert.match(r.out(), /applied/);
    assert.notDeepEqual(await leftovers(), [], 'the partition is in place');
    r.child.kill('SIGINT');
    assert.equal(await r.exited, 130, r.out()); // interrupted: the conventional 128 + SIGINT
    assert.match(r.out(), /reverted: .*\(interrupted\)/);
    assert.deepEqual(await leftovers(), []);
  });

  it('should leave nothing after SIGKILL of the harness at random moments and `cleanup` (22 iterations)', async () => {
    const faults: string[][] = [
      ['partition'],
      ['latency', '--param', 'latency=50ms', '--param', 'jitter=10ms'],
      ['cpu-stress', '--param', 'workers=1'],
      ['memory-stress', '--param', 'size=10%'],
      ['pause'],
      ['pause', '--param', 'method=sigstop'],
      ['bandwidth', '--param', 'rate=256kbit', '--param', 'via=tbf'],
      [
        'flap',
        '--param',
        'minDown=50ms',
        '--param',
        'maxDown=100ms',
        '--param',
        'minUp=50ms',
        '--param',
        'maxUp=100ms',
      ],
      ['slicer'],
      ['partition', '--param', 'between=client-edge', '--param', 'direction=out'],
      ['timeout'],
    ];
    const rand = seededRandom(20261125);
    const moments: string[] = [];
    // Calibrate on this machine's speed: how long `inject` takes to apply; kill moments spread over twice that,
    // so some land before/while applying and some after, however loaded the machine is.
    const cal = inject(['partition', '--node', 'edge-1', '--for', '30s', '--run', runId]);
    const t0 = performance.now();
    while (!cal.out().includes('applied') && performance.now() - t0 < 30_000) await sleep(10);
    const toApply = performance.now() - t0;
    cal.child.kill('SIGINT');
    assert.equal(await cal.exited, 130, cal.out());
    for (let i = 0; i < 22; i++) {
      const [kind, ...params] = faults[i % faults.length]!;
      const r = inject([kind!, '--node', 'edge-1', '--for', '30s', '--run', runId, ...params]);
      const delay = Math.round(50 + rand() * 2 * toApply);
      await sleep(delay);
      const applied = r.out().includes('applied');
      moments.push(`${kind}@${delay}ms${applied ? '(applied)' : ''}`);
      process.kill(r.child.pid!, 'SIGKILL');
      await r.exited;
      // Commands the harness had in flight (nft, tc) finish or die with its process group.
      for (let w = 0; w < 100 && groupAlive(r.child.pid!); w++) await sleep(20);
      // `edgechaos cleanup`: every run whose harness is dead (not the deployment, whose owner is this test).
      for (const f of readdirSync(state).filter((x) => x.endsWith('.journal'))) {
        const j = readJournal(join(state, f));
        if (j.runId === runId) continue;
        const rep = await sweep({ runId: j.runId, dir: state });
        assert.deepEqual(
          rep.runs.flatMap((x) => x.failed),
          [],
          `sweep of ${j.runId} after ${moments.at(-1)}`,
        );
      }
      let left = await leftovers();
      for (let w = 0; w < 40 && left.length; w++) {
        await sleep(50);
        left = await leftovers();
      }
      assert.deepEqual(left, [], `after ${moments.at(-1)}`);
      assert.ok(dep.stackRunning('edge-1'), 'the stack survived');
    }
    assert.ok(
      moments.filter((m) => m.includes('applied')).length >= 5,
      `killed after apply often enough: ${moments.join(' ')}`,
    );
    assert.ok(
      moments.filter((m) => !m.includes('applied')).length >= 3,
      `killed before/while applying: ${moments.join(' ')}`,
    );
  });

  it('should revert a crashed inject with `edgechaos cleanup` and spare the live deployment', async () => {
    const r = inject(['cpu-stress', '--node', 'edge-2', '--for', '60s', '--run', runId]);
    const until = performance.now() + 15_000;
    while (!r.out().includes('applied') && performance.now() < until) await sleep(20);
    process.kill(r.child.pid!, 'SIGKILL');
    await r.exited;
    const res = spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), 'cleanup', '--json'], {
      cwd: repoRoot,
      env: { ...process.env, EDGECHAOS_STATE_DIR: state, EDGECHAOS_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    res.stdout.on('data', (d: Buffer) => (out += d.toString()));
    assert.equal(await new Promise((ok) => res.once('exit', ok)), 0);
    const rep = JSON.parse(out) as { runs: { runId: string; skipped?: string; reverted: string[] }[] };
    const inj = rep.runs.filter((x) => x.runId.startsWith('inj-'));
    assert.equal(inj.length, 1);
    assert.equal(inj[0]!.reverted.length, 1, 'the stress process');
    assert.match(
      rep.runs.find((x) => x.runId === runId)!.skipped ?? '',
      /still running/,
      'the live deployment is spared',
    );
    const procs = readFileSync(`${dep.local('edge-2').cgroups.cpu}/cgroup.procs`, 'utf8')
      .split('\n')
      .filter(Boolean);
    assert.equal(procs.length, 1, 'stress-ng gone');
  });
});
