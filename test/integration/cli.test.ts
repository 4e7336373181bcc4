import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';

const cli = (...args: string[]) =>
  run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
    allowFailure: true,
    cwd: repoRoot,
  });

const commands = [
  'run',
  'deploy',
  'destroy',
  'inject',
  'cleanup',
  'score',
  'report',
  'conform',
  'doctor',
  'bootstrap',
];

describe('edgechaos CLI', () => {
  it('should exit 0 with help that lists every command', async () => {
    const r = await cli('--help');
    assert.equal(r.code, 0);
    for (const c of commands) {
      assert.match(r.stdout, new RegExp(`\\n  ${c} `), `help lists ${c}`);
    }
  });

  for (const c of commands) {
    it(`should show Examples in the help of ${c}`, async () => {
      const r = await cli(c, '--help');
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:\n {2}\$ edgechaos /);
    });
  }

  it('should exit 2 on an unknown command or option', async () => {
    assert.equal((await cli('frobnicate')).code, 2);
    assert.equal((await cli('doctor', '--bogus')).code, 2);
  });

  it('should report doctor as JSON with real versions of the pinned tools', async () => {
    const r = await cli('doctor', '--json');
    const rep = JSON.parse(r.stdout) as {
      ok: boolean;
      tools: { name: string; version?: string; ok: boolean }[];
      capabilities: { name: string; ok: boolean }[];
    };
    const v = (n: string) => rep.tools.find((t) => t.name === n)?.version;
    assert.equal(v('toxiproxy-server'), '2.5.0');
    assert.equal(v('kwok'), '0.8.0');
    for (const t of ['stress-ng', 'nft', 'chromium']) assert.match(v(t) ?? '', /^\d+\.\d+/, `${t} version`);
    assert.equal(r.code, rep.ok ? 0 : 3);
    assert.ok(rep.capabilities.find((c) => c.name === 'netns')?.ok, 'netns probed and working');
  });

  it('should exit 3 and name the tool when a required tool is missing', async () => {
    const r = await run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), 'doctor', '--json'], {
      allowFailure: true,
      cwd: repoRoot,
      env: { ...process.env, EDGECHAOS_TOOLS_DIR: '/nonexistent', PATH: '/usr/bin:/bin' },
    });
    assert.equal(r.code, 3);
    const rep = JSON.parse(r.stdout) as { tools: { name: string; found: boolean; note?: string }[] };
    const toxi = rep.tools.find((t) => t.name === 'toxiproxy-server');
    assert.equal(toxi?.found, false);
    assert.match(toxi?.note ?? '', /bootstrap/);
  });
});

describe('edgechaos run: targets refuse what they cannot do before anything starts', () => {
  const inTemp = async (...argsAndEnv: (string | Record<string, string>)[]) => {
    const args = argsAndEnv.filter((a): a is string => typeof a === 'string');
    const extraEnv = Object.assign({}, ...argsAndEnv.filter((a) => typeof a !== 'string')) as Record<
      string,
      string
    >;
    const { tempDir } = await import('../helpers/temp.ts');
    using reports = tempDir('cli-reports');
    const r = await run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
      allowFailure: true,
      cwd: repoRoot,
      env: { ...process.env, EDGECHAOS_REPORTS_DIR: reports.path, KUBECONFIG: '', ...extraEnv },
    });
    const { readdirSync } = await import('node:fs');
    return { ...r, runDirs: readdirSync(reports.path) };
  };

  it('should name the scenario file and field of a Kubernetes fault on the local target', async () => {
    const r = await inTemp('run', 'test/fixtures/scenarios/kube-e2e.ts', '--target', 'local');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /kube-e2e\.ts: field faults\[1\]\.kind: fault f2 cordon acts on Kubernetes/);
    assert.deepEqual(r.runDirs, [], 'no run started');
  });

  it('should ask for a kubeconfig on --target kube, and say when it does not exist', async () => {
    const a = await inTemp('run', 'scenarios/standard.ts', '--target', 'kube');
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--target kube needs a kubeconfig/);
    const b = await inTemp(
      'run',
      'scenarios/standard.ts',
      '--target',
      'kube',
      '--kubeconfig',
      '/nonexistent/kc',
    );
    assert.equal(b.code, 2);
    assert.match(b.stderr, /\/nonexistent\/kc: kubeconfig not found/);
    assert.deepEqual([...a.runDirs, ...b.runDirs], []);
  });

  it('should fail --target kind early with the install hint where kind is absent', async () => {
    // a PATH without kind, also on machines that have it
    const r = await inTemp('run', 'scenarios/standard.ts', '--target', 'kind', { PATH: '/nonexistent' });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /kind is missing: run `edgechaos bootstrap --kind`/);
    assert.deepEqual(r.runDirs, []);
  });
});
