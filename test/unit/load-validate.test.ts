import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { validateLoadScript } from '../../src/load/validate.ts';
import { tempDir } from '../helpers/temp.ts';

const EDGES = JSON.stringify([{ name: 'edge-1', url: 'http://127.0.0.1:1' }]);

describe('load script preflight', () => {
  it('should accept every shipped script', async () => {
    for (const s of ['steady.ts', 'ramping.ts', 'read-heavy.ts']) {
      const r = await validateLoadScript(join(repoRoot, 'scenarios/load', s), { EDGES, DURATION: '10000ms' });
      assert.ok(r.scenarios.length >= 1, s);
    }
  });
  it('should name the file and field of a missing script, a bad scenario, a missing exec and a bad threshold', async () => {
    using dir = tempDir('validate');
    const k6 = join(repoRoot, 'src/load/k6/metrics.ts');
    const cases: [string, string, string | undefined][] = [
      [
        `export const options = { scenarios: { a: { executor: 'constant-vus', vus: 1, duration: 'soon' } } }; export default function () {}`,
        'options.scenarios.a.duration',
        undefined,
      ],
      [
        `export const options = { scenarios: { a: { executor: 'constant-vus', vus: 1, duration: '1s', exec: 'nope' } } }; export default function () {}`,
        'options.scenarios.a.exec',
        undefined,
      ],
      [
        `export const options = { thresholds: { http_req_duraton: ['p(95)<1'] } }; export default function () {}`,
        'options.thresholds.http_req_duraton',
        undefined,
      ],
      [
        `import { Trend } from '${k6}'; new Trend('mine'); export const options = { thresholds: { mine: ['rate>1'] } }; export default function () {}`,
        'options.thresholds.mine',
        undefined,
      ],
      [
        `import { Trend } from '${k6}'; new Trend('mine2'); export const options = { thresholds: { mine2: ['p(99)<1'] } }; export default function () {}`,
        '',
        'ok',
      ],
    ];
    for (const [i, [src, field, ok]] of cases.entries()) {
      const f = join(dir.path, `s${i}.ts`);
      writeFileSync(f, src);
      if (ok) {
        await validateLoadScript(f);
        continue;
      }
      await assert.rejects(
        validateLoadScript(f),
        (e: unknown) => e instanceof UsageError && e.file === f && e.field === field,
        field,
      );
    }
    await assert.rejects(
      validateLoadScript(join(dir.path, 'missing.ts')),
      (e: unknown) => e instanceof UsageError && /not found/.test(e.message),
    );
  });
});
