import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { which } from '../../src/tools/find.ts';
import { tempDir } from '../helpers/temp.ts';
import { cli, ociTraces } from './oci-helpers.ts';

// Issue 20, "escaping processes": a stack child that joins the host's mount and network namespaces,
// moves itself into the root cgroups and drops the run's token survived `destroy` and `cleanup` in
// process mode. The fixture (test/fixtures/images/escape/entrypoint.sh) does exactly that. As a
// container (the default runtime) it must stay in its node — its namespaces, its board cgroup — and die
// with it. In process mode the same detector flags the escape (the limit the README states), which
// shows the test would fail on a runtime that lets a stack out.

const fixtures = join(repoRoot, 'test/fixtures/images');
const stack = join(fixtures, 'escape.stack.ts');

function buildFixtures(): void {
  for (const t of ['runc', 'crane', 'nsenter'])
    assert.ok(which(t), `${t} is missing: run scripts/bootstrap (runc: apt-get install -y runc)`);
  assert.ok(existsSync('/bin/busybox'), '/bin/busybox is missing: apt-get install -y busybox-static');
  execFileSync('bash', [join(fixtures, 'build.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Host pids whose last argument is "ec-escapee" (the fixture's marker). */
function escapees(): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.at(-1) === 'ec-escapee') out.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

const ns = (pid: number | 'self', kind: string): number => statSync(`/proc/${pid}/ns/${kind}`).ino;

/** What an escapee reached: the host's namespaces and cgroups it is in (empty: it stayed in its node). */
function escapedTo(pid: number, runId: string): string[] {
  const out: string[] = [];
  // the test runs in the host's namespaces (PID 1 of this VM is not readable)
  for (const k of ['mnt', 'net', 'pid']) if (ns(pid, k) === ns('self', k)) out.push(`host ${k} namespace`);
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, controllers, path] = line.split(':');
    if (!path?.includes(runId)) out.push(`cgroup ${controllers || 'unified'}:${path}`);
  }
  return out;
}

async function waitFor<T>(what: string, f: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Deploy the escape stack on one node, its state and reports in `dir`; the deployment and that env. */
async function deployEscape(
  runtime: 'oci' | 'process',
  dir: string,
): Promise<{ runId: string; runDir: string; env: NodeJS.ProcessEnv }> {
  const env = {
    EDGECHAOS_STATE_DIR: join(dir, 'state'),
    EDGECHAOS_REPORTS_DIR: join(dir, 'reports'),
    EDGECHAOS_LOG: 'warn',
  };
  const d = await cli(['deploy', '--nodes', '1', '--runtime', runtime, '--stack', stack, '--json'], env);
  assert.equal(d.code, 0, d.err);
  return { ...(JSON.parse(d.out) as { runId: string; runDir: string }), env };
}

describe('a hostile stack cannot leave its node', () => {
  it('as a container (root, no capabilities): the escapee stays in the node namespaces and board cgroups, and dies with destroy', async () => {
    buildFixtures();
    assert.deepEqual(escapees(), [], 'an escapee of an earlier run is still alive');
    using dir = tempDir('oci-hostile');
    const { env, ...info } = await deployEscape('oci', dir.path);
    try {
      const pids = await waitFor('the escapee', () => (escapees().length ? escapees() : undefined));
      const log = readFileSync(join(info.runDir, 'data', 'edge-1', 'escape.log'), 'utf8');
      assert.match(log, /refused: nsenter -t 1\n/, log);
      assert.doesNotMatch(log, /joined/, log);
      assert.match(log, /refused: \/sys\/fs\/cgroup\//, log);
      assert.doesNotMatch(log, /moved to/, log);
      for (const pid of pids) {
        assert.deepEqual(escapedTo(pid, info.runId), [], `escapee ${pid}`);
        assert.equal(ns(pid, 'net'), statSync(`/run/netns/ec-${info.runId}-edge-1`).ino);
        assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /CapEff:\s+0{16}\n/);
      }
    } finally {
      const x = await cli(['destroy', '--run', info.runId], env);
      assert.equal(x.code, 0, x.err);
    }
    assert.deepEqual(escapees(), [], 'an escapee survived destroy');
    assert.deepEqual(ociTraces(info.runId), []);
  });

  it('as a process (--runtime process, the limit the README states): the same detector sees the escape', async () => {
    buildFixtures();
    using dir = tempDir('oci-hostile-process');
    const { env, ...info } = await deployEscape('process', dir.path);
    let survivors: number[] = [];
    try {
      const pids = await waitFor('the escapee in the root cgroups', () => {
        const p = escapees();
        return p.length && p.every((x) => escapedTo(x, info.runId).length > 0) ? p : undefined;
      });
      for (const pid of pids) {
        const where = escapedTo(pid, info.runId);
        assert.ok(where.includes('host mnt namespace'), where.join(', '));
        assert.ok(where.includes('host net namespace'), where.join(', '));
      }
    } finally {
      const x = await cli(['destroy', '--run', info.runId], env);
      survivors = escapees();
      for (const pid of survivors) process.kill(pid, 'SIGKILL');
      assert.equal(x.code, 0, x.err);
    }
    assert.notDeepEqual(survivors, [], 'process mode cannot hold a root stack that leaves its cgroup');
    assert.deepEqual(ociTraces(info.runId), []);
  });
});
