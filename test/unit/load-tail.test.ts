import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SampleTail } from '../../src/load/tail.ts';
import { tempDir } from '../helpers/temp.ts';

describe('sample tail', () => {
  it('should count only new, complete http lines between reads', () => {
    using dir = tempDir('tail');
    const f = join(dir.path, 'samples.jsonl');
    const tail = new SampleTail(f);
    assert.deepEqual(tail.read(), { requests: 0, errors: 0 }, 'no file yet');
    appendFileSync(
      f,
      '{"type":"start","t":0,"epochMs":1}\n{"type":"http","t":1,"ok":true}\n{"type":"http","t":2,"ok":false}\n{"type":"ht',
    );
    assert.deepEqual(tail.read(), { requests: 2, errors: 1 });
    appendFileSync(f, 'tp","t":3,"ok":true}\n');
    assert.deepEqual(tail.read(), { requests: 1, errors: 0 }, 'the torn line completes');
    assert.equal(tail.requests, 3);
  });
  it('should count exactly across its 256 KiB read chunks', () => {
    using dir = tempDir('tail-big');
    const f = join(dir.path, 'samples.jsonl');
    const tail = new SampleTail(f);
    const line = (i: number): string =>
      `{"type":"http","t":${i},"name":"é${'x'.repeat(i % 50)}","ok":${i % 3 !== 0}}\n`;
    let text = '';
    for (let i = 0; i < 20_000; i++) text += line(i);
    appendFileSync(f, text);
    assert.deepEqual(tail.read(), { requests: 20_000, errors: 6667 });
    assert.deepEqual(tail.read(), { requests: 0, errors: 0 });
  });
});
