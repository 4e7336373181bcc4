import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, toolsDir } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { readToolsLock } from '../../src/tools/lock.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The nightly Kind workflow, checked with actionlint (built by bootstrap from its pinned Go module;
 * missing → this fails with the bootstrap hint). Also: it runs the same command as the local Kind
 * test, caches the tool cache keyed on tools.lock.json, writes the score table on pass and fail,
 * and pins every action to a full commit SHA.
 */
const workflow = join(repoRoot, '.github', 'workflows', 'nightly-kind.yml');
const actionlint = (file: string) =>
  run([join(toolsDir(), 'bin', 'actionlint'), '-no-color', file], {
    allowFailure: true,
    installHint: `actionlint ${readToolsLock().go['actionlint']?.version}: run scripts/bootstrap`,
  });

describe('nightly Kind workflow', () => {
  it('passes actionlint', async () => {
    const r = await actionlint(workflow);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  it('actionlint fails on a broken copy (the check can fail)', async () => {
    using dir = tempDir('wf');
    const broken = join(dir.path, 'broken.yml');
    writeFileSync(
      broken,
      readFileSync(workflow, 'utf8').replace(
        'runs-on: ubuntu-24.04',
        'runs-on: ubuntu-24.04\n    timeout-minutes: soon',
      ),
    );
    const r = await actionlint(broken);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /timeout-minutes/);
  });

  it('runs the local Kind test command, caches on tools.lock.json, summarises always, pins actions to SHAs', () => {
    const y = readFileSync(workflow, 'utf8');
    assert.match(
      y,
      /node --import tsx --test --test-concurrency=1 \\\n\s+test\/kind\/kind-campaign\.test\.ts/,
    );
    assert.match(y, /path: ~\/\.cache\/edgechaos\/tools\n\s+key: .*hashFiles\('tools\.lock\.json'\)/);
    assert.match(y, /- name: Score table\n\s+if: always\(\)\n\s+run: .*GITHUB_STEP_SUMMARY/);
    const uses = [...y.matchAll(/uses: (\S+)/g)].map((m) => m[1]!);
    assert.ok(uses.length >= 5);
    for (const u of uses) assert.match(u, /^actions\/[\w-]+@[0-9a-f]{40}$/, `${u} is pinned to a commit SHA`);
  });
});
