import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario } from '../../src/campaign/scenario.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { localPlugin } from '../../src/targets/local/plugin.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

/**
 * A scenario's fault times count from the load runner's own t = 0, not from its spawn: with a runner
 * that takes 5 s to start, a partition `at: 1s, for: 3s` still falls inside the load, so the offline
 * check sees requests to the cut edge. Timed from the spawn, the whole cut was over before the first
 * request (a loaded machine's runner took 1.7–3.6 s to start: the e2e tournament's reference stack
 * then failed offline).
 */
describe('fault timing against a slow load runner', () => {
  isolatedRunDirs(before, after);

  it('should apply the faults at their offsets from the runner start, so the cut edge gets requests', async () => {
    const scenario = await loadScenario(join(repoRoot, 'test/fixtures/scenarios/slow-runner.ts'));
    const { record: r } = await runCampaign({
      scenario,
      target: localPlugin,
      signal: new AbortController().signal,
    });
    assert.equal(r.error, undefined, r.error);
    const offline = r.checks.find((c) => c.id === 'offline')!;
    assert.ok(
      (offline.metrics['offline.requests']?.value ?? 0) >= 30,
      `requests to the cut edge during the cut: ${JSON.stringify(offline.metrics)}`,
    );
    assert.equal(offline.status, 'passed', offline.summary);
  });
});
