import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { after, describe, it } from 'node:test';
import { UsageError } from '../../src/core/errors.ts';
import { repoRoot } from '../../src/core/paths.ts';
import {
  bundleScript,
  checkConfigMapSize,
  checkScriptBundles,
  CONFIGMAP_LIMIT_BYTES,
} from '../../src/load/bundle.ts';
import type { EngineResult } from '../../src/load/engine.ts';
import { mergeSegmentResults, segmentDir } from '../../src/load/job.ts';
import { readLoadResult } from '../../src/load/run-load.ts';
import { jobSegment, RESULT_TAG, SegmentSink, StreamDecoder, trailerLines } from '../../src/load/stream.ts';
import type { Sample } from '../../src/load/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'ec-unit-loadstream-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const samples = (epochMs: number, base: number): Sample[] => [
  { type: 'start', t: 0, epochMs, cpuSeconds: 0.1 },
  {
    type: 'write',
    t: 10,
    tDone: 12,
    id: `w-${base}`,
    node: 'edge-1',
    payloadBytes: 5,
    outcome: 'ok',
    status: 201,
  },
  { type: 'check', t: 12, scenario: 'default', name: 'ok ✓ ünïcode', ok: true },
  {
    type: 'write',
    t: 20,
    tDone: 25,
    id: `w-${base + 1}`,
    node: 'edge-1',
    payloadBytes: 5,
    outcome: 'ok',
    status: 201,
  },
  { type: 'end', t: 30, cpuSeconds: 0.4 },
];
/** What a streamed runner prints: its samples, a stderr line between, the trailer. */
const stream = (s: Sample[], result?: Partial<EngineResult>, exitCode = 0): string =>
  [
    ...s.slice(0, 2).map((x) => JSON.stringify(x)),
    'threshold ok   checks: rate>0.99 (value 1)',
    ...s.slice(2).map((x) => JSON.stringify(x)),
    ...trailerLines({ samples: s.length, exitCode, ...(result ? { result: result as EngineResult } : {}) }),
  ].join('\n') + '\n';

describe('--load-replicas on a cluster: the pods’ streams, their segments, the script bundle', () => {
  it('should read a stream cut anywhere (even inside a multi-byte character) the same', () => {
    const text = stream(samples(1000, 0));
    const whole = Buffer.from(text);
    for (let cut = 0; cut <= whole.length; cut += 7) {
      const got: string[] = [];
      const d = new StreamDecoder((l) => got.push(l));
      // as a Writable with a StringDecoder sees it: bytes cut anywhere, decoded incrementally
      const sd = new StringDecoder('utf8');
      d.push(sd.write(whole.subarray(0, cut)));
      d.push(sd.write(whole.subarray(cut)));
      d.push(sd.end());
      d.end();
      assert.equal(d.problem(), undefined, `cut at ${cut}`);
      assert.equal(got.length, 5);
      assert.deepEqual(JSON.parse(got[2]!), samples(1000, 0)[2]);
      assert.deepEqual(d.log, ['threshold ok   checks: rate>0.99 (value 1)']);
    }
  });

  it('should say when samples were lost or the trailer never came, never pass a shorter stream', () => {
    const lines = stream(samples(1000, 0)).split('\n');
    const lost = new StreamDecoder(() => undefined);
    lost.push(lines.filter((_, i) => i !== 3).join('\n'));
    lost.end();
    assert.match(lost.problem() ?? '', /5 samples written, 4 read/);
    const cut = new StreamDecoder(() => undefined);
    cut.push(lines.slice(0, 4).join('\n'));
    cut.end();
    assert.match(cut.problem() ?? '', /without the runner's result \(3 samples read\)/);
  });

  it('should cut a large result into trailer lines under 8 KiB and join them back', () => {
    const result = { thresholds: [], state: { big: 'x'.repeat(50_000) } } as unknown as EngineResult;
    const lines = trailerLines({ samples: 0, exitCode: 99, result });
    assert.ok(lines.length >= 8, `${lines.length} lines`);
    for (const l of lines) {
      assert.ok(Buffer.byteLength(l) < 8192, `${Buffer.byteLength(l)} bytes`);
      assert.ok(l.startsWith(`${RESULT_TAG} `));
    }
    const d = new StreamDecoder(() => undefined);
    d.push(lines.join('\n'));
    d.end();
    assert.equal(d.trailer?.exitCode, 99);
    assert.deepEqual(d.trailer?.result, result);
    // a part missing: no trailer
    const gap = new StreamDecoder(() => undefined);
    gap.push(lines.filter((_, i) => i !== 2).join('\n') + '\n');
    gap.end();
    assert.equal(gap.trailer, undefined);
  });

  it('should take a pod’s segment from its completion index, refusing an index out of range', () => {
    assert.equal(jobSegment('0', '3'), '0/3:1/3');
    assert.equal(jobSegment('2', '3'), '2/3:3/3');
    assert.equal(jobSegment('0', '1'), '0/1:1/1');
    for (const [i, n] of [
      ['3', '3'],
      ['-1', '2'],
      ['', '2'],
      [undefined, '2'],
      ['0', undefined],
      ['0', '0'],
      ['1.5', '3'],
    ] as const)
      assert.throws(() => jobSegment(i, n), RangeError, `${i} of ${n}`);
  });

  it('should write each pod’s stream as a runner’s files and merge the segments on one clock', () => {
    const out = join(dir, 'load');
    const results = [0, 1].map((i) => {
      const sink = new SegmentSink(segmentDir(out, i));
      // pod 1 started 5 ms after pod 0
      sink.push(
        stream(
          samples(1000 + 5 * i, 10 * i),
          { thresholds: [], data: { metrics: {} } } as never,
          i === 1 ? 99 : 0,
        ),
      );
      assert.equal(sink.end(), undefined);
      const r = readLoadResult(segmentDir(out, i), 0, sink.decoder.trailer!.exitCode, false);
      assert.equal(readFileSync(r.samplesFile, 'utf8').trim().split('\n').length, 5);
      return r;
    });
    const merged = mergeSegmentResults(out, results);
    const writes = merged.samples.flatMap((s) => (s.type === 'write' ? [[s.id, s.t, s.tDone]] : []));
    assert.deepEqual(writes, [
      ['w-0', 10, 12],
      ['w-10', 15, 17],
      ['w-1', 20, 25],
      ['w-11', 25, 30],
    ]);
    assert.equal(merged.exitCode, 99, 'a failed threshold of one pod is the run’s');
    const end = merged.samples.at(-1);
    assert.deepEqual(end, { type: 'end', t: 35, cpuSeconds: 0.8 });
  });

  it('should bundle a script alone, its k6 imports pointing at the image, and refuse one that does not build', async () => {
    const k6 = join(repoRoot, 'src', 'load', 'k6');
    const src = join(dir, 'script.ts');
    writeFileSync(
      src,
      `import http from '${k6}/http.ts';\nimport { check } from '${k6}/index.ts';\nimport { Trend } from '${k6}/metrics';\n` +
        `const t = new Trend('t');\nexport default async function () { check(await http.get(__ENV.U), { ok: (r) => r.status === 200 }); t.add(1); }\n`,
    );
    const bytes = await bundleScript(src, join(dir, 'script.mjs'));
    const js = readFileSync(join(dir, 'script.mjs'), 'utf8');
    assert.equal(bytes, Buffer.byteLength(js));
    for (const m of ['http', 'index', 'metrics']) assert.match(js, new RegExp(`from "/app/k6/${m}\\.mjs"`));
    assert.doesNotMatch(js, /undici/, 'the HTTP client stays in the image');
    assert.ok(bytes < 4096, `${bytes} bytes`);
    writeFileSync(src, `import { nope } from './missing.ts';\nexport default () => nope;\n`);
    await assert.rejects(
      bundleScript(src, join(dir, 'bad.mjs')),
      (e: unknown) => e instanceof UsageError && /cannot be bundled.*missing\.ts/.test(e.message),
    );
  });

  it('should refuse a bundle over the ConfigMap limit with the sizes, before anything is created', async () => {
    checkConfigMapSize('s.ts', CONFIGMAP_LIMIT_BYTES - 'script.mjs'.length);
    assert.throws(
      () => checkConfigMapSize('s.ts', CONFIGMAP_LIMIT_BYTES),
      (e: unknown) =>
        e instanceof UsageError &&
        /s\.ts bundles to 1048576 bytes: over the 1048576-byte limit/.test(e.message),
    );
    // a real script that drags 1.2 MB of data in
    const src = join(dir, 'fat.ts');
    writeFileSync(join(dir, 'blob.ts'), `export const blob = ${JSON.stringify('z'.repeat(1_200_000))};\n`);
    writeFileSync(src, `import { blob } from './blob.ts';\nexport default () => blob.length;\n`);
    const bytes = await bundleScript(src, join(dir, 'fat.mjs'));
    assert.ok(bytes > CONFIGMAP_LIMIT_BYTES);
    assert.throws(() => checkConfigMapSize(src, bytes), /over the 1048576-byte limit/);
    // what `run` checks before deploying: the shipped scripts fit, the fat one is refused
    await assert.rejects(checkScriptBundles(src), UsageError);
    for (const f of readdirSync(join(repoRoot, 'scenarios', 'load')).filter((x) => x.endsWith('.ts'))) {
      const b = await checkScriptBundles(join(repoRoot, 'scenarios', 'load', f));
      assert.ok(b > 0 && b < 16_384, `${f}: ${b} bytes`);
    }
  });
});
