import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { catalogue } from '../../faults/catalogue.ts';
import { kubeFaultKindNames, type FaultKindName, type FaultParamsByKind } from '../../faults/typed.ts';
import { boardProfileNames, loadScenario } from '../../src/campaign/scenario.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { boardProfiles } from '../../src/targets/local/profiles.ts';
import { tempDir } from '../helpers/temp.ts';

const exec = promisify(execFile);
const fixtures = join(repoRoot, 'test/fixtures/typed');

/** tsc --noEmit with the project's options on `files` only; resolves with its exit code and output. */
async function tsc(dir: string, files: string[]): Promise<{ code: number; out: string }> {
  const config = join(dir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(repoRoot, 'tsconfig.json'),
      compilerOptions: { typeRoots: [join(repoRoot, 'node_modules/@types')] },
      files,
      include: [],
    }),
  );
  try {
    const r = await exec(join(repoRoot, 'node_modules/.bin/tsc'), [
      '--noEmit',
      '--pretty',
      'false',
      '-p',
      config,
    ]);
    return { code: 0, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

// Every param name of every kind, as the types declare them: the object literal must list each
// name of FaultParamsByKind exactly (tsc rejects a missing or an extra one), so the runtime
// comparison below compares the *types* with each kind's params table.
type ParamNames = { [K in FaultKindName]: { [P in keyof FaultParamsByKind[K]]-?: true } };
const typedParams: ParamNames = {
  partition: { between: true, direction: true, peer: true, action: true },
  latency: { latency: true, jitter: true, stream: true, toxicity: true },
  bandwidth: { rate: true, via: true, stream: true, toxicity: true, burst: true, queue: true },
  'reset-peer': { timeout: true, stream: true, toxicity: true },
  timeout: { timeout: true, stream: true, toxicity: true },
  slicer: { averageSize: true, sizeVariation: true, delay: true, stream: true, toxicity: true },
  flap: { between: true, minDown: true, maxDown: true, minUp: true, maxUp: true },
  'cpu-stress': { workers: true, load: true },
  'memory-stress': { size: true, workers: true },
  kill: { signal: true, restartAfter: true, restart: true },
  pause: { method: true },
  'restart-node': { downFor: true },
  loss: { percent: true, between: true, direction: true, peer: true, burst: true, burstPercent: true },
  'disk-full': {},
  'io-latency': { op: true, prob: true, delay: true },
  'io-error': { op: true, prob: true, errno: true },
  'power-loss': { downFor: true },
  'clock-skew': { offset: true },
  'node-loss': {},
  cordon: {},
  drain: {},
  overload: {},
  'pod-kill': { workload: true },
};

describe('typed fault entries in defineScenario', () => {
  it('should fail tsc on misspelt kinds, bad params and unknown board profiles, at each marked line', async () => {
    using dir = tempDir('typed');
    const text = readFileSync(join(fixtures, 'bad-scenario.ts.txt'), 'utf8').replace(
      '__SCENARIO_MODULE__',
      join(repoRoot, 'src/campaign/scenario.ts'),
    );
    const file = join(dir.path, 'bad-scenario.mts'); // .mts: an ES module wherever it sits
    writeFileSync(file, text);
    const expected = text
      .split('\n')
      .map((l, i) => (/\/\/ expect-error/.test(l) ? i + 1 : 0))
      .filter(Boolean);
    assert.equal(expected.length, 11);
    const { code, out } = await tsc(dir.path, [file]);
    assert.notEqual(code, 0, out);
    const errorLines = [
      ...new Set([...out.matchAll(/bad-scenario\.mts\((\d+),\d+\): error TS/g)].map((m) => Number(m[1]))),
    ].sort((a, b) => a - b);
    assert.deepEqual(errorLines, expected, out);
  });

  it('should pass tsc on a scenario using every kind with typed params', async () => {
    using dir = tempDir('typed-ok');
    const { code, out } = await tsc(dir.path, [join(fixtures, 'good-scenario.ts')]);
    assert.equal(code, 0, out);
    const s = await loadScenario(join(fixtures, 'good-scenario.ts'));
    assert.equal(s.faults.length, 13);
  });

  it("should type exactly each kind's params (the catalogue's params tables)", () => {
    assert.deepEqual(Object.keys(typedParams).sort(), Object.keys(catalogue).sort());
    for (const [kind, names] of Object.entries(typedParams))
      assert.deepEqual(Object.keys(names).sort(), Object.keys(catalogue[kind]!.params).sort(), kind);
    assert.deepEqual(
      [...kubeFaultKindNames].sort(),
      Object.values(catalogue)
        .filter((k) => k.needs.includes('kube'))
        .map((k) => k.kind)
        .sort(),
    );
  });

  it('should offer exactly the board profiles of the real table', () =>
    assert.deepEqual([...boardProfileNames].sort(), Object.keys(boardProfiles).sort()));
});
