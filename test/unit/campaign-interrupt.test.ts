import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario } from '../../src/campaign/scenario.ts';
import { runExitCode } from '../../src/cli/commands/run.ts';
import { repoRoot } from '../../src/core/paths.ts';
import type { CampaignDeployment } from '../../src/targets/campaign-port.ts';
import type { TargetPlugin } from '../../src/targets/plugin.ts';

/**
 * An interrupted campaign (Ctrl-C) is marked interrupted and judged and scored on nothing — it must
 * never report "resumed-sync FAIL: not converged" and print a score as if it had run. The target is
 * a fake (pure: nothing is deployed), so this runs without root.
 */
describe('an interrupted campaign', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-interrupt-'));
  process.env['EDGECHAOS_STATE_DIR'] = join(dir, 'state');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('should be marked interrupted, judged and scored on nothing, torn down, and exit 130', async () => {
    const log: string[] = [];
    const dep = {
      target: 'fake',
      edges: [],
      hubUrl: 'http://192.0.2.1:1',
      teardown: () => Promise.resolve(void log.push('teardown')),
    } as unknown as CampaignDeployment;
    const fake: TargetPlugin = {
      name: 'fake',
      summary: 'a target that deploys nothing',
      capabilities: ['shell', 'stack', 'uplink'],
      options: {},
      preflight: () => Promise.resolve(),
      deploy: (_req, ctx) => {
        log.push('deploy');
        ctx.signal.throwIfAborted?.();
        return Promise.resolve(dep);
      },
    };
    const ctl = new AbortController();
    const scenario = await loadScenario(join(repoRoot, 'scenarios/standard.ts'));
    // Ctrl-C arrives while the stack is being deployed
    const deploying = fake.deploy.bind(fake);
    fake.deploy = (req, ctx) => {
      ctl.abort(new Error('SIGINT'));
      return deploying(req, { ...ctx, signal: new AbortController().signal });
    };
    const { record, runDir } = await runCampaign({
      scenario,
      target: fake,
      signal: ctl.signal,
      outDir: join(dir, 'run'),
    });
    assert.deepEqual(log, ['deploy', 'teardown']);
    assert.equal(record.interrupted, true);
    assert.deepEqual(record.checks, [], 'nothing judged');
    assert.equal(record.score.total, 0);
    assert.equal(record.gatesPassed, false);
    assert.equal(runExitCode(record), 130);
    assert.ok(existsSync(join(runDir, 'run.json')));
    assert.equal(
      (JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { interrupted?: boolean }).interrupted,
      true,
    );
  });
});
