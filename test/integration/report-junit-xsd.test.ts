import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunRecord } from '../../src/campaign/record.ts';
import { readRunDir, renderJUnit } from '../../src/report/index.ts';
import { provenanceFixture } from '../helpers/provenance.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'runs');
/** The Jenkins xUnit plugin's JUnit schema (MIT), vendored: see the comment at its top. */
const xsd = join(import.meta.dirname, '..', 'fixtures', 'junit', 'junit-10.xsd');

/** `xmllint --noout --schema`; a missing xmllint fails the test with the install hint, never skips it. */
function validate(xml: string, dir: string, name: string): { ok: boolean; out: string } {
  const probe = spawnSync('xmllint', ['--version'], { encoding: 'utf8' });
  if (probe.error)
    assert.fail(
      'xmllint is missing: apt-get update && apt-get install -y libxml2-utils (or scripts/bootstrap)',
    );
  const file = join(dir, `${name}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', xsd, file], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

describe('report: junit.xml against the common JUnit XSD (xmllint)', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgechaos-junit-xsd-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('should have a schema that rejects what it should (skipped on <testsuites>)', () => {
    // Proves the validation can fail: the shape the writer used to produce.
    const bad = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="x" tests="1" failures="0" errors="0" skipped="1" time="1.000">
  <testsuite name="s" tests="1" failures="0" errors="0" skipped="1" time="0.000">
    <testcase classname="c" name="n" time="0.000"><skipped message="m"/></testcase>
  </testsuite>
</testsuites>
`;
    const r = validate(bad, dir, 'bad');
    assert.equal(r.ok, false, r.out);
    assert.match(r.out, /attribute 'skipped' is not allowed/);
  });

  for (const name of ['passing', 'failing'])
    it(`should validate the ${name} run's junit.xml`, () => {
      const r = validate(renderJUnit(readRunDir(join(fixtures, name))), dir, name);
      assert.ok(r.ok, r.out);
    });

  it('should validate a run with provenance, a not-measured gate, control characters and a campaign error', () => {
    const rec = readRunDir(join(fixtures, 'failing')) as RunRecord & Record<string, unknown>;
    rec.error = 'stopped: \u0007bell & <tag> "quoted"';
    rec['provenance'] = provenanceFixture;
    const c = rec.score.criteria.find((x) => x.gates.length > 0)!;
    c.gates[0] = { ...c.gates[0]!, measured: undefined, passed: false };
    const xmlText = renderJUnit(rec, [
      { label: 'Run record', href: 'run.json', bytes: 10 },
      { label: 'edge-1 agent log', href: 'logs/edge-1 <a>.log' },
    ]);
    assert.match(xmlText, /<property name="evidence: Run record" value="run.json"\/>/);
    const r = validate(xmlText, dir, 'extra');
    assert.ok(r.ok, r.out);
  });

  it('should find xmllint installed by the Debian package list of tools.lock.json', () => {
    const lock = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'tools.lock.json'), 'utf8'),
    ) as { debian: string[] };
    assert.ok(lock.debian.includes('libxml2-utils'), 'tools.lock.json debian list lacks libxml2-utils');
  });
});
