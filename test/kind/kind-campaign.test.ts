import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunRecord } from '../../src/campaign/record.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

/**
 * `edgechaos run … --target kind` for real, as a user runs it (and as the nightly workflow runs this
 * file): a Kind cluster with one worker per edge, the stack's images loaded, the data-plane and the
 * Kubernetes faults (cordon, drain, pod-kill, node loss by `docker stop`), every check including
 * rescheduling, the score printed. Here the offline node image and the private dockerd
 * (`edgechaos bootstrap --kind`); on a CI runner the runner's Docker and kindest/node.
 * Run dirs go to $EDGECHAOS_REPORTS_DIR when set (the workflow uploads them), else a temp dir.
 */
const scenario = join(repoRoot, 'test/fixtures/scenarios/kind-short.ts');

describe('campaign on --target kind', () => {
  const keep = process.env['EDGECHAOS_REPORTS_DIR'];
  const dirs = isolatedRunDirs(before, after);
  const reports = keep ?? dirs.reports;

  it('runs the short Kind campaign: every check passes, the Kubernetes faults applied, a score printed', async (t) => {
    mkdirSync(reports, { recursive: true });
    const t0 = Date.now();
    const r = await run(['node', join(repoRoot, 'bin/edgechaos.mjs'), 'run', scenario, '--target', 'kind'], {
      allowFailure: true,
      env: { ...process.env, EDGECHAOS_REPORTS_DIR: reports },
    });
    t.diagnostic(`kind campaign wall time: ${Date.now() - t0} ms`);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out.slice(-6000));
    assert.match(out, /SCORE/);
    const runDir = readdirSync(reports)
      .map((d) => join(reports, d))
      .find((d) => readdirSync(d).includes('run.json'));
    assert.ok(runDir, `a run directory under ${reports}`);
    const rec = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(rec.error, undefined, rec.error);
    for (const c of rec.checks) assert.notEqual(c.status, 'failed', `${c.id}: ${c.summary}`);
    const resched = rec.checks.find((c) => c.id === 'rescheduling');
    assert.equal(resched?.status, 'passed', resched?.summary);
    // the agents' own words are kept (on a failed run too): every edge agent's log, non-empty
    const logs = readdirSync(join(runDir, 'pod-logs'));
    const agentLogs = logs.filter((f) => /^edge-agent-.*\.edge-agent\.log$/.test(f));
    assert.ok(agentLogs.length >= 2, `edge-agent logs in pod-logs/: ${logs.join(', ')}`);
    for (const f of agentLogs) assert.ok(statSync(join(runDir, 'pod-logs', f)).size > 0, `${f} is empty`);
    for (const kind of ['partition', 'cordon', 'drain', 'pod-kill', 'node-loss']) {
      const f = rec.faults.find((x) => x.kind === kind);
      assert.ok(f, `${kind} in the record`);
      assert.equal(f.error, undefined, `${kind}: ${f.error}`);
    }
  });
});
