import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { tempDir, writeJson } from '../helpers/temp.ts';

/** `edgechaos run <scenario> --dry-run` in a child, with its own reports and state dirs. */
function dryRun(
  scenario: object,
  o: { dry?: boolean; edgeCommand?: string[] } = {},
): Promise<{ code: number; stdout: string; stderr: string; created: string[] }> {
  const dir = tempDir('dry');
  const stack = writeJson(dir.path, 'stack.json', {
    name: 's',
    edge: { command: o.edgeCommand ?? ['/bin/true'], port: 7001 },
    hub: { command: ['/bin/true'], port: 7000 },
  });
  const file = writeJson(dir.path, 'scn.json', {
    stack,
    load: { script: join(repoRoot, 'scenarios/load/steady.ts') },
    ...scenario,
  });
  const reports = join(dir.path, 'reports');
  const state = join(dir.path, 'state');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin/edgechaos.mjs'), 'run', file, ...(o.dry === false ? [] : ['--dry-run'])],
      { env: { ...process.env, EDGECHAOS_REPORTS_DIR: reports, EDGECHAOS_STATE_DIR: state } },
      (err, stdout, stderr) => {
        const created = [reports, state].flatMap((d) => {
          try {
            return readdirSync(d).map((f) => join(d, f));
          } catch {
            return [];
          }
        });
        dir[Symbol.dispose]();
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr, created });
      },
    );
  });
}

const base = { name: 'dry', nodes: [{ profile: 'rpi4' }, { profile: 'x86-edge' }], duration: '30s' };

describe('run --dry-run', () => {
  for (const [what, faults, nodes, field] of [
    [
      'a misspelt fault kind',
      [{ kind: 'partiton', node: 'edge-1', at: '1s', for: '2s' }],
      base.nodes,
      'faults[0].kind',
    ],
    [
      'a bad param',
      [{ kind: 'latency', node: 'edge-1', at: '1s', for: '2s', params: { latency: 'fast' } }],
      base.nodes,
      'faults[0].params.latency',
    ],
    [
      'an unknown param',
      [{ kind: 'kill', node: 'edge-1', at: '1s', params: { restartAftr: '1s' } }],
      base.nodes,
      'faults[0].params.restartAftr',
    ],
    ['an unknown board profile', [], [{ profile: 'rpi4' }, { profile: 'rpi5' }], 'nodes[1].profile'],
  ] as const) {
    it(`should reject ${what} with exit 2, one line naming file and field, nothing created`, async () => {
      const r = await dryRun({ ...base, nodes, faults });
      assert.equal(r.code, 2, r.stderr + r.stdout);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        new RegExp(`^edgechaos: \\S*scn\\.json: field ${field.replace(/[[\].]/g, '\\$&')}: `),
      );
      assert.deepEqual(r.created, []);
    });
  }
  it('should print the seeded timeline of a valid scenario', async () => {
    const r = await dryRun({
      ...base,
      seed: 3,
      faults: [{ kind: 'latency', node: 'edge-1', at: '1s', for: '2s', params: { latency: '100ms' } }],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /f1 latency on edge-1 \(latency=100ms\) for 2s/);
    assert.deepEqual(r.created, []);
  });
});

/**
 * Issue 20: these were found only mid-campaign (exit 3, full reports, namespaces created). A real run
 * (no --dry-run) must refuse each in preflight: exit 2, one line naming file and field, nothing created.
 */
describe('run (not a dry run): config errors are preflight errors', () => {
  for (const [what, scenario, edgeCommand, file, field] of [
    [
      'a board profile of no board',
      { nodes: [{ profile: 'rpi4' }, { profile: 'cray-1' }] },
      undefined,
      'scn',
      'nodes[1].profile',
    ],
    [
      'a subnet that is the whole internet',
      { target: { subnet: '0.0.0.0/0' } },
      undefined,
      'scn',
      'target.subnet',
    ],
    [
      'a load script that does not exist',
      { load: { script: '/nonexistent/no-such-load.ts' } },
      undefined,
      'scn',
      'load.script',
    ],
    [
      'a stack command without "/" that is not on PATH',
      {},
      ['no-such-edge-agent'],
      'stack',
      'edge.command[0]',
    ],
  ] as const) {
    it(`should refuse ${what} with exit 2, one line naming file and field, nothing created`, async () => {
      const r = await dryRun(
        { ...base, ...scenario },
        { dry: false, ...(edgeCommand ? { edgeCommand: [...edgeCommand] } : {}) },
      );
      assert.equal(r.code, 2, r.stderr + r.stdout);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        new RegExp(`^edgechaos: \\S*${file}\\.json: field ${field.replace(/[[\].]/g, '\\$&')}: `),
      );
      assert.deepEqual(r.created, []);
    });
  }
});
