import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run } from '../../src/core/proc.ts';
import { tempDir } from '../helpers/temp.ts';

describe('run with inputFile', () => {
  it("puts the file on the command's stdin, whole", async () => {
    using d = tempDir('proc-input');
    const f = join(d.path, 'in.bin');
    const data = Buffer.alloc(3 << 20, 'edge');
    writeFileSync(f, data);
    const r = await run(['wc', '-c'], { inputFile: f });
    assert.equal(r.stdout.trim(), String(data.length));
  });
  it('names a missing input file before running anything', () => {
    using d = tempDir('proc-input');
    const f = join(d.path, 'missing.tar');
    assert.throws(
      () => run(['wc', '-c'], { inputFile: f }),
      new RegExp(`ENOENT.*${f.replace(/[.]/g, '\\.')}`),
    );
  });
});
