import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario } from '../../src/campaign/scenario.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { loadRunRecord } from '../../src/record/load.ts';
import { writeReports } from '../../src/report/index.ts';
import { localPlugin } from '../../src/targets/local/plugin.ts';
import { which } from '../../src/tools/find.ts';
import { ociTraces } from '../integration/oci-helpers.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

describe('a campaign with an arm64 edge under qemu-user beside a native one', () => {
  const dirs = isolatedRunDirs(before, after);

  it('should run edge-2 emulated and report its timing as "emulated, not scored" in run.json, HTML and JUnit', async () => {
    assert.ok(
      which('qemu-aarch64-static'),
      'qemu-aarch64-static: scripts/bootstrap installs qemu-user-static',
    );
    const scenario = await loadScenario(join(repoRoot, 'test/fixtures/scenarios/e2e-arm64.ts'));
    const { record, runDir } = await runCampaign({
      scenario,
      target: localPlugin,
      signal: new AbortController().signal,
    });
    await writeReports(runDir, record);
    for (const c of record.checks) assert.notEqual(c.status, 'failed', `${c.id}: ${c.summary}`);
    // the scenario's arch reached the target: edge-2 ran under the emulator, edge-1 natively
    const rec = loadRunRecord(runDir);
    assert.deepEqual(rec.evidence?.emulated, { 'edge-2': 'arm64' });
    for (const id of ['resumed-sync', 'offline', 'downlink', 'resources']) {
      const c = rec.checks.find((x) => x.id === id);
      assert.deepEqual(c?.emulated?.nodes, { 'edge-2': 'arm64' }, `${id}: ${c?.summary}`);
      assert.match(c.summary, /emulated, not scored: edge-2 \(arm64 under qemu-user\)/);
    }
    // scored values are the native edge's; the emulated ones sit beside them
    const term = rec.score.criteria.flatMap((c) => c.terms).find((t) => t.metric === 'offline.p99-ms');
    assert.equal(term?.status, 'measured');
    assert.deepEqual(term.emulated?.nodes, { 'edge-2': 'arm64' });
    assert.ok(rec.evidence.nativeConvergeMs !== undefined, 'the native edges’ convergence was timed');
    const junit = readFileSync(join(runDir, 'junit.xml'), 'utf8');
    assert.match(
      junit,
      /offline\.p99-ms = [\d.]+ ms on edge-2 \(arm64 under qemu-user\): emulated, not scored/,
    );
    const html = readFileSync(join(runDir, 'index.html'), 'utf8');
    assert.match(html, /data-emulated-metric="offline\.p99-ms"/);
    assert.match(html, /<table class="kv emulated" data-emulated-check="offline">/);
    assert.deepEqual(ociTraces(record.runId), []);
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
    );
  });
});
