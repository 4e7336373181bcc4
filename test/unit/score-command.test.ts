import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatScore, rescore } from '../../src/cli/commands/score.ts';
import { ScenarioError } from '../../src/core/errors.ts';
import { loadRubric } from '../../src/scoring/rubric.ts';
import { score } from '../../src/scoring/score.ts';
import { tempDir, writeJson } from '../helpers/temp.ts';
import { crit } from '../helpers/rubric.ts';

const passing = (): Record<string, unknown> =>
  JSON.parse(readFileSync('test/fixtures/runs/passing/run.json', 'utf8')) as Record<string, unknown>;

function runDir(root: string, rec: unknown): string {
  const dir = join(root, 'run');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify(rec));
  return dir;
}

/** A rubric file that leaves a marker when it is imported (executed). */
function evilRubric(root: string): { file: string; marker: string } {
  const marker = join(root, 'executed');
  const file = join(root, 'evil.ts');
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default { name: 'evil', version: '1.0', criteria: [] };\n`,
  );
  return { file, marker };
}

describe('edgechaos score <run-dir>', () => {
  it('should never execute a rubric file named in run.json: it re-scores with the rubric stored as data', async () => {
    using dir = tempDir('score');
    const evil = evilRubric(dir.path);
    const rubric = await loadRubric('scenarios/rubric.ts');
    const rec = passing();
    rec['rubric'] = { file: evil.file, name: 'evil', version: '1.0', data: rubric };
    const s = await rescore(runDir(dir.path, rec));
    assert.equal(existsSync(evil.marker), false, 'the rubric file from run.json was executed');
    assert.equal(s.rubric.version, rubric.version);
    assert.ok(s.total > 0);
  });

  it('should refuse a run without rubric data unless a rubric is given explicitly, and never load the recorded path', async () => {
    using dir = tempDir('score');
    const evil = evilRubric(dir.path);
    const rec = passing();
    rec['rubric'] = { file: evil.file, name: 'evil', version: '1.0' };
    const d = runDir(dir.path, rec);
    await assert.rejects(rescore(d), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.field, 'rubric.data');
      assert.match(e.file ?? '', /run\.json$/);
      return true;
    });
    assert.equal(existsSync(evil.marker), false);
    const s = await rescore(d, { rubric: 'scenarios/rubric.ts' });
    assert.equal(s.rubric.name, 'edge-container-track');
  });

  it('should reject a rubric of which nothing was measured in the run (no "0 / 0")', async () => {
    using dir = tempDir('score');
    const file = writeJson(dir.path, 'sched.json', {
      name: 'sched-only',
      version: '1.0',
      criteria: [
        crit({
          id: 'tp',
          title: 'Throughput',
          area: 'dynamic-scheduling',
          terms: [
            {
              metric: 'scheduling.throughput-pods-per-s',
              direction: 'higher-is-better',
              best: 200,
              worst: 10,
            },
          ],
        }),
      ],
    });
    await assert.rejects(rescore(runDir(dir.path, passing()), { rubric: file }), (e: unknown) => {
      assert.ok(e instanceof ScenarioError);
      assert.equal(e.file, file);
      assert.match(e.message, /nothing .* was measured/);
      return true;
    });
  });

  it('should print formatted numbers in MB, and failed gates before the table', async () => {
    const rubric = await loadRubric('scenarios/rubric.ts');
    const s = score(rubric, {
      'image.max.bytes': { value: 12_345_678, unit: 'B', source: 't' },
      'offline.success-rate': { value: 0.8195516381320953, unit: 'ratio', source: 't' },
      'offline.p99-ms': { value: 12.3456789, unit: 'ms', source: 't' },
      'offline.restarts': { value: 0, unit: 'restarts', source: 't' },
      'sync.lost': { value: 202, unit: 'writes', source: 't' },
      'sync.duplicated': { value: 0, unit: 'writes', source: 't' },
    });
    const out = formatScore(s);
    assert.doesNotMatch(out, /\d\.\d{4,}/, `raw floats in:\n${out}`);
    assert.match(out, /image\.max\.bytes=12\.35 MB/);
    assert.doesNotMatch(out, /MiB/);
    assert.match(out, /offline\.success-rate=81\.96%/);
    const firstGate = out.indexOf('gate(s) failed');
    assert.ok(firstGate >= 0 && firstGate < out.indexOf('criterion'), out);
    assert.match(out, /zeroes the whole edge-cloud-collaboration area/);
    assert.match(out, /offline-stability +0\.0 \/ 15 \(gate failed\)/);
  });
});
