import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CAPACITY } from '../../src/campaign/capacity.ts';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario } from '../../src/campaign/scenario.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { writeReports } from '../../src/report/index.ts';
import { localPlugin } from '../../src/targets/local/plugin.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

/**
 * `--find-capacity` searches each edge twice: on the healed stack, then while the faults the
 * scenario holds on it are applied again. The fixture's edge holds a cloud cut and a client-edge
 * refusal, so under its faults no step can hold (0 req/s), while healed it reaches the small
 * ceiling set here. Both faults are reverted after the search: the run's journal is empty.
 */
describe('--find-capacity: healed and under the faults the scenario holds', () => {
  const dirs = isolatedRunDirs(before, after);

  it('should find the healed capacity, 0 req/s under a client refusal, and revert the faults', async () => {
    const scenario = await loadScenario(join(repoRoot, 'test/fixtures/scenarios/capacity-faults.ts'));
    const { record: r, runDir } = await runCampaign({
      scenario,
      target: localPlugin,
      signal: new AbortController().signal,
      // small and quick: 200/s then 400/s (the ceiling) healed; under faults 200/s fails, bisected down
      capacity: { ...DEFAULT_CAPACITY, startRate: 200, maxRate: 400, stepMs: 1000, confirmBreaches: 0 },
    });
    assert.equal(r.error, undefined, r.error);
    const e = r.evidence?.capacity?.edges[0];
    assert.ok(e, JSON.stringify(r.evidence?.capacity));
    assert.deepEqual([e.capacity, e.limitedBy], [400, 'maxRate'], JSON.stringify(e.steps));
    const u = e.underFaults;
    assert.ok(u, 'searched under its faults');
    assert.deepEqual(u.faults, ['f1 partition', 'f2 partition']);
    assert.equal(u.capacity, 0, JSON.stringify(u.steps));
    assert.ok(
      u.steps.length > 0 && u.steps.every((s) => !s.ok && s.breach === 'errors' && s.errorRate === 1),
      JSON.stringify(u.steps),
    );
    const check = r.checks.find((c) => c.id === 'stress-capacity');
    assert.equal(check?.status, 'passed', check?.summary);
    assert.equal(check?.metrics['capacity.edge-1.rps']?.value, 400);
    assert.equal(check?.metrics['capacity.edge-1.under-faults-rps']?.value, 0);
    assert.match(check?.summary ?? '', /under partition, partition: 0 req\/s/);
    const notes = r.timeline.filter((t) => t.text.startsWith('capacity: ')).map((t) => t.text);
    assert.equal(notes.length, 3, notes.join('\n'));
    const written = await writeReports(runDir, r, { pdf: false, allure: false });
    const html = readFileSync(written.html, 'utf8');
    assert.match(html, /under f1 partition, f2 partition/);
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
      'nothing left journaled',
    );
  });
});
