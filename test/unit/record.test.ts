import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildProgram } from '../../src/cli/program.ts';
import { ScenarioError } from '../../src/core/errors.ts';
import { loadRunRecord, parseRunRecord } from '../../src/record/load.ts';
import { collectProvenance } from '../../src/record/provenance.ts';
import { runRecordSchema } from '../../src/record/schema.ts';
import { harnessVersion } from '../../src/record/version.ts';
import { readRunDir } from '../../src/report/run-dir.ts';
import { loadRubric } from '../../src/scoring/rubric.ts';
import { loadStack } from '../../src/stack/manifest.ts';
import { tempDir } from '../helpers/temp.ts';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join('test/fixtures/runs', name, 'run.json'), 'utf8')) as Record<string, unknown>;

function writeRun(dir: string, rec: unknown): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify(rec));
  return dir;
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('run record schema', () => {
  it('should load the stored runs through one loader, giving every gate a status', () => {
    for (const name of ['passing', 'failing']) {
      const r = loadRunRecord(join('test/fixtures/runs', name));
      for (const c of r.score.criteria)
        for (const g of c.gates) assert.equal(g.status, g.passed ? 'passed' : 'failed', `${name} ${c.id}`);
      assert.deepEqual(
        readRunDir(join('test/fixtures/runs', name)).runId,
        r.runId,
        'the report reads the same',
      );
    }
  });

  it('should keep unknown top-level fields written by a newer harness', () => {
    using dir = tempDir('record');
    const r = loadRunRecord(writeRun(dir.path, { ...fixture('passing'), futureField: 1 }));
    assert.equal((r as Record<string, unknown>)['futureField'], 1);
  });

  it('should validate provenance, rubric data, interrupted and full evidence', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const rec = fixture('passing');
    const full = {
      ...rec,
      rubric: { ...(rec['rubric'] as object), data: rubric },
      interrupted: false,
      provenance: {
        harnessVersion: '0.1.0',
        gitCommit: 'abc',
        rubric: { name: rubric.name, version: rubric.version, sha256: sha('scenarios/rubric.ts') },
        scenarioSha256: sha('scenarios/standard.ts'),
        stack: {
          name: 's',
          version: '1',
          manifestSha256: sha('scenarios/rubric.ts'),
          images: [{ file: 'a', digest: 'sha256:x' }],
        },
        target: 'local',
        host: { kernel: '6.18', cpuModel: 'x', cores: 2 },
        node: 'v20',
        seed: 1,
        label: 's',
      },
    };
    const r = parseRunRecord(full, 'run.json');
    assert.equal(r.rubric.data?.criteria.length, 9);
    assert.equal(r.provenance?.label, 's');
    const bad = { ...full, provenance: { ...full.provenance, scenarioSha256: 'nope' } };
    assert.throws(
      () => parseRunRecord(bad, 'run.json'),
      (e: unknown) =>
        e instanceof ScenarioError && e.field === 'provenance.scenarioSha256' && e.file === 'run.json',
    );
    const badRubric = { ...full, rubric: { ...full.rubric, data: { ...rubric, criteria: [] } } };
    assert.throws(
      () => parseRunRecord(badRubric, 'run.json'),
      (e: unknown) => e instanceof ScenarioError && e.field === 'rubric.data.criteria',
    );
    assert.ok(runRecordSchema.safeParse(full).success);
  });
});

describe('provenance', () => {
  it('should state harness version, hashes, host, node and label of a run', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const stack = await loadStack(undefined, { requireBuilt: false });
    const p = await collectProvenance({
      rubric: { name: rubric.name, version: rubric.version, file: 'scenarios/rubric.ts' },
      scenarioFile: 'scenarios/standard.ts',
      stack,
      target: 'local',
      seed: 42,
    });
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(p.harnessVersion, pkg.version);
    assert.equal(p.rubric.sha256, sha('scenarios/rubric.ts'));
    assert.equal(p.scenarioSha256, sha('scenarios/standard.ts'));
    assert.equal(p.stack.manifestSha256, sha(stack.file));
    assert.equal(p.stack.images.length, Object.keys(stack.images).length);
    assert.equal(p.label, stack.name, 'the label defaults to the stack name');
    assert.equal(p.node, process.version);
    assert.ok(p.host.cores > 0 && p.host.kernel.length > 0 && p.host.cpuModel.length > 0);
    assert.match(p.gitCommit ?? '', /^[0-9a-f]{40}(-dirty)?$/);
    assert.equal(p.seed, 42);
  });

  it('should read the harness version from package.json, in the CLI too', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    assert.equal(harnessVersion(), pkg.version);
    assert.equal(buildProgram({ code: 0 }).version(), pkg.version);
  });
});
