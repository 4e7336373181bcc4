import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { makeRunDir, newRunId } from '../../src/core/run-id.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/temp.ts';

const exec = promisify(execFile);

describe('run ids and run dirs', () => {
  it('should never repeat an id within one second of one process', () => {
    const at = new Date('2026-12-06T03:17:30Z');
    const ids = Array.from({ length: 10_000 }, () => newRunId('ec', at));
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids.slice(0, 5)) {
      assert.match(id, /^ec-1206031730-[0-9a-z]+-[0-9a-z]+$/);
      assert.ok(id.length <= 41, id);
    }
  });

  it('should give two runs of one scenario started in the same second two directories', () => {
    using parent = tempDir('rundir');
    const a = makeRunDir('20261206-031730-standard', parent.path);
    const b = makeRunDir('20261206-031730-standard', parent.path);
    assert.notEqual(a, b);
    assert.deepEqual(readdirSync(parent.path).sort(), [
      '20261206-031730-standard',
      '20261206-031730-standard-2',
    ]);
  });

  it('should keep ids and dirs unique across processes started together', async () => {
    using parent = tempDir('rundir-par');
    const script = `
      import { makeRunDir, newRunId } from ${JSON.stringify(join(repoRoot, 'src/core/run-id.ts'))};
      const at = new Date('2026-12-06T03:17:30Z');
      const out = [];
      for (let i = 0; i < 50; i++) out.push([newRunId('ec', at), makeRunDir('same', ${JSON.stringify(parent.path)})]);
      console.log(JSON.stringify(out));`;
    const runs = await Promise.all(
      Array.from({ length: 4 }, () =>
        exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot }),
      ),
    );
    const pairs = runs.flatMap((r) => JSON.parse(r.stdout) as [string, string][]);
    assert.equal(new Set(pairs.map((p) => p[0])).size, 200, 'run ids repeated');
    assert.equal(new Set(pairs.map((p) => p[1])).size, 200, 'run dirs shared');
    assert.equal(readdirSync(parent.path).length, 200);
  });
});
