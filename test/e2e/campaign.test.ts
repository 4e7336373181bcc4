import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeReports } from '../../src/report/index.ts';
import { localPlugin } from '../../src/targets/local/plugin.ts';
import type { RunRecord } from '../../src/campaign/record.ts';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario } from '../../src/campaign/scenario.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

const scenarioFile = join(repoRoot, 'test/fixtures/scenarios/e2e.ts');
const fixture = (name: string): string => join(repoRoot, 'test/fixtures/stacks', `${name}.stack.ts`);

let referenceRunDir = '';

async function campaign(
  stackFile: string | undefined,
  opts: { conformance?: boolean } = {},
): Promise<RunRecord> {
  const scenario = await loadScenario(scenarioFile);
  scenario.checks.conformance = opts.conformance ?? false;
  const { record, runDir } = await runCampaign({
    scenario,
    target: localPlugin,
    signal: new AbortController().signal,
    ...(stackFile ? { stackFile } : {}),
  });
  // the reports of the reference run are checked below; the defect runs only need their verdicts
  if (stackFile === undefined) await writeReports(runDir, record);
  if (!stackFile) referenceRunDir = runDir;
  return record;
}

const verdict = (r: RunRecord, id: string): string => r.checks.find((c) => c.id === id)?.status ?? 'absent';
const summary = (r: RunRecord, id: string): string => r.checks.find((c) => c.id === id)?.summary ?? '';

describe('campaigns on the local target (real namespaces, cgroups, toxiproxy, reference stack)', () => {
  const dirs = isolatedRunDirs(before, after);

  it('should pass every check on the reference stack and score it', async () => {
    const r = await campaign(undefined, { conformance: true });
    for (const c of r.checks) assert.notEqual(c.status, 'failed', `${c.id}: ${c.summary}`);
    assert.equal(r.gatesPassed, true, r.score.failedGates.join('; '));
    assert.ok((r.metrics['sync.acknowledged']?.value ?? 0) > 200, 'the load really wrote');
    assert.ok((r.metrics['offline.requests']?.value ?? 0) > 50, 'requests hit the partitioned edge');
    assert.equal(r.score.criteria.find((c) => c.id === 'cluster-throughput')?.status, 'not-measured');
    assert.ok(r.score.total > 0 && r.score.possible === 70);
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
      'every fault and resource reverted',
    );
  });

  it('should catch lost writes on a stack that keeps its outbox in memory', async () => {
    const r = await campaign(fixture('memory-outbox'));
    assert.equal(verdict(r, 'resumed-sync'), 'failed');
    assert.ok((r.metrics['sync.lost']?.value ?? 0) > 0, summary(r, 'resumed-sync'));
    assert.equal(r.gatesPassed, false);
  });

  it('should catch duplicates on a stack that resends without idempotency', async () => {
    const r = await campaign(fixture('duplicates'));
    assert.equal(verdict(r, 'resumed-sync'), 'failed');
    assert.ok((r.metrics['sync.duplicated']?.value ?? 0) > 0, summary(r, 'resumed-sync'));
  });

  it('should catch an edge that stops serving when the cloud is gone', async () => {
    const r = await campaign(fixture('refuse-offline'));
    assert.equal(verdict(r, 'offline'), 'failed', summary(r, 'offline'));
    assert.ok((r.metrics['offline.success-rate']?.value ?? 1) < 0.99, summary(r, 'offline'));
  });

  it('should catch an edge that never takes config from the cloud', async () => {
    const r = await campaign(fixture('no-downlink'));
    assert.equal(verdict(r, 'downlink'), 'failed', summary(r, 'downlink'));
  });

  it('should catch a slow start', async () => {
    const r = await campaign(fixture('slow-start'));
    assert.equal(verdict(r, 'startup'), 'failed', summary(r, 'startup'));
    assert.ok((r.metrics['startup.edge-agent.median-ms']?.value ?? 0) >= 1500);
  });

  it('should catch a bloated agent in its cgroup', async () => {
    const r = await campaign(fixture('bloat'));
    assert.equal(verdict(r, 'resources'), 'failed', summary(r, 'resources'));
  });

  it('should catch a chatty sync that sends far more than the payload', async () => {
    const r = await campaign(fixture('chatty'));
    assert.equal(verdict(r, 'sync-efficiency'), 'failed', summary(r, 'sync-efficiency'));
  });

  it('should catch an image over 10 MB', async () => {
    const r = await campaign(fixture('fat-image'));
    assert.equal(verdict(r, 'image-size'), 'failed', summary(r, 'image-size'));
    assert.ok(r.score.failedGates.some((g) => g.startsWith('image-size')));
  });

  it('should leave run.json and every report in the reference run directory', () => {
    assert.ok(referenceRunDir, 'the reference run ran first');
    for (const f of [
      'run.json',
      'index.html',
      'junit.xml',
      'report.pdf',
      'allure-results',
      'load/samples.jsonl',
    ]) {
      assert.ok(existsSync(join(referenceRunDir, f)), `${f} in ${referenceRunDir}`);
    }
  });
});
