import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { watchBrowsers } from './report-helpers.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'runs');
const cli = (...args: string[]) =>
  run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
    allowFailure: true,
    cwd: repoRoot,
  });

describe('edgechaos report (CLI)', () => {
  let dir = '';
  const browsers = watchBrowsers();
  const runDir = (name: string): string => {
    const d = join(dir, name);
    mkdirSync(d);
    copyFileSync(join(fixtures, name.replace(/-.*/, ''), 'run.json'), join(d, 'run.json'));
    return d;
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgechaos-report-cli-'));
  });

  after(() => {
    browsers.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should regenerate every report from run.json alone, the same each time', async () => {
    const d = runDir('failing');
    const r = await cli('report', d, '--allure', '--json');
    assert.equal(r.code, 0, r.stderr);
    const [w] = JSON.parse(r.stdout) as { html: string; pdf: string; png: string; allureReport: string }[];
    assert.equal(w?.html, join(d, 'index.html'));
    assert.ok(readFileSync(join(d, 'report.pdf')).subarray(0, 5).equals(Buffer.from('%PDF-')));
    assert.ok(readFileSync(join(d, 'report.png')).subarray(1, 4).equals(Buffer.from('PNG')));
    assert.match(readFileSync(join(d, 'junit.xml'), 'utf8'), /<testsuites /);
    const results = readdirSync(join(d, 'allure-results'));
    assert.equal(results.filter((f) => f.endsWith('-result.json')).length, 9);
    for (const f of ['environment.properties', 'executor.json', 'categories.json'])
      assert.ok(results.includes(f), f);
    const allure = readFileSync(join(d, 'allure-report', 'index.html'), 'utf8');
    assert.doesNotMatch(allure, /googletagmanager/);

    // Delete everything but run.json and regenerate: same JUnit, same set of Allure results.
    const junit = readFileSync(join(d, 'junit.xml'), 'utf8');
    for (const f of readdirSync(d)) if (f !== 'run.json') rmSync(join(d, f), { recursive: true });
    const again = await cli('report', d, '--no-pdf');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /index\.html/);
    assert.equal(readFileSync(join(d, 'junit.xml'), 'utf8'), junit);
    assert.equal(readdirSync(join(d, 'allure-results')).filter((f) => f.endsWith('-result.json')).length, 9);
    assert.ok(!existsSync(join(d, 'report.pdf')));
  });

  it('should chart per edge from load/samples.jsonl when the run kept it', async () => {
    const d = runDir('passing-samples');
    mkdirSync(join(d, 'load'));
    const lines = [JSON.stringify({ type: 'start', t: 0, epochMs: 1795647173894 })];
    for (let t = 0; t < 5000; t += 20)
      lines.push(
        JSON.stringify({
          type: 'http',
          t,
          scenario: 'w',
          method: 'POST',
          name: 'write',
          node: `edge-${((t / 20) % 3) + 1}`,
          status: 201,
          ok: true,
          duration: 3,
        }),
      );
    writeFileSync(join(d, 'load', 'samples.jsonl'), `${lines.join('\n')}\n{"type":"http","t":50`);
    const r = await cli('report', d, '--no-pdf');
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(join(d, 'index.html'), 'utf8');
    assert.match(
      html,
      /"id":"errors"[^}]*"caption":"Share of requests per second that failed \(no answer, or not 2xx\), per edge\."/,
    );
  });

  it('should give one clear error naming run.json when it is missing, corrupt or invalid', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const missing = await cli('report', empty);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    assert.match(missing.stderr, new RegExp(`${join(empty, 'run.json')}: no run.json here`));

    const corrupt = join(dir, 'corrupt');
    mkdirSync(corrupt);
    writeFileSync(join(corrupt, 'run.json'), '{"schema":"edgechaos.run/v1",');
    const c = await cli('report', corrupt);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /corrupt\/run\.json: run\.json is not valid JSON/);

    const invalid = join(dir, 'invalid');
    mkdirSync(invalid);
    const rec = JSON.parse(readFileSync(join(fixtures, 'passing', 'run.json'), 'utf8')) as {
      score: { total: unknown };
    };
    rec.score.total = 'lots';
    writeFileSync(join(invalid, 'run.json'), JSON.stringify(rec));
    const i = await cli('report', invalid);
    assert.equal(i.code, 2);
    assert.match(i.stderr, /invalid\/run\.json: field score\.total: invalid run record/);
    assert.equal(i.stderr.trim().split('\n').length, 1);
    assert.deepEqual(readdirSync(invalid), ['run.json'], 'nothing written for a bad run');
  });

  it('should compare runs side by side with deltas, in the terminal and as HTML', async () => {
    const a = runDir('passing-a');
    const b = runDir('failing-b');
    const out = join(dir, 'scoreboard.html');
    const r = await cli('report', 'compare', a, b, '--out', out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /passing-a\s+failing-b/);
    assert.match(r.stdout, /sync\.lost\s+0 writes\s+17 writes \(\+17 ▼\)/);
    assert.match(readFileSync(out, 'utf8'), /class="delta-worse"/);
    const one = await cli('report', 'compare', a);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /needs at least two run directories/);
  });

  it('should leave no browser process or profile behind', () => {
    assert.deepEqual(browsers.leftovers(), { pids: [], profiles: [] });
  });
});
