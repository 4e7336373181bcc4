import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../../src/core/proc.ts';
import { repoRoot } from '../../src/core/paths.ts';

/** The dependency rules (.dependency-cruiser.cjs) as scripts/test runs them. */
const depcruise = (paths: string[], extra: string[] = []) =>
  run(
    [
      join(repoRoot, 'node_modules', '.bin', 'depcruise'),
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'err',
      ...extra,
      ...paths,
    ],
    { cwd: repoRoot, allowFailure: true },
  );

describe('layers', () => {
  it('should hold on the tree as it is', async () => {
    const r = await depcruise(['src', 'faults']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  for (const [where, imports, rule] of [
    ['src/core', '../campaign/run.ts', 'core-is-the-ground-floor'],
    ['faults', '../src/targets/local/plugin.ts', 'faults-are-below-targets'],
    ['src/checks', '../targets/registry.ts', 'checks-and-scoring-judge-evidence'],
    ['src/report', '../campaign/scenario.ts', 'reports-read-the-record-only'],
    ['src/targets', '../campaign/run.ts', 'targets-are-below-the-campaign'],
  ] as const) {
    it(`should fail on a planted upward import from ${where} (${rule})`, async () => {
      const file = join(repoRoot, where, 'zz-planted-violation.ts');
      writeFileSync(file, `import type * as Up from '${imports}';\nexport type Planted = typeof Up;\n`);
      try {
        const r = await depcruise([join(where, 'zz-planted-violation.ts')], ['--max-depth', '1']);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout + r.stderr, new RegExp(`error ${rule}: ${where}/zz-planted-violation\\.ts`));
      } finally {
        rmSync(file, { force: true });
      }
    });
  }
});
