import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario } from '../../src/campaign/scenario.ts';
import { UsageError } from '../../src/core/errors.ts';
import { repoRoot } from '../../src/core/paths.ts';
import type { EngineResult } from '../../src/load/engine.ts';
import { readSamples } from '../../src/load/summary.ts';
import type { Sample } from '../../src/load/types.ts';
import type { LoadJobRecord } from '../../src/targets/kube-local/load-job.ts';
import { kubeLocalPlugin } from '../../src/targets/kube-local/plugin.ts';
import { localPlugin } from '../../src/targets/local/plugin.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

/**
 * `--load-replicas N` on kube-local: the load runner as an Indexed Job of N pods through the embedded
 * cluster's API, the pods as runner processes each taking its execution segment, samples merged for
 * the sync checks. One short campaign (no Kubernetes faults, no rescheduling, no scheduling bench).
 */
const scenarioFile = join(repoRoot, 'test/fixtures/scenarios/kube-e2e.ts');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const writeIds = (samples: Sample[]): string[] => samples.flatMap((s) => (s.type === 'write' ? [s.id] : []));

describe('--load-replicas on kube-local (a Job of execution segments, pods as processes)', () => {
  const dirs = isolatedRunDirs(before, after);

  it('should refuse --load-replicas on the local target before anything is deployed', async () => {
    const scenario = await loadScenario(scenarioFile);
    scenario.target.kind = 'local';
    await assert.rejects(
      runCampaign({ scenario, target: localPlugin, signal: new AbortController().signal, loadReplicas: 2 }),
      (e: unknown) =>
        e instanceof UsageError &&
        /no Kubernetes API: --load-replicas needs a Kubernetes target/.test(e.message),
    );
    assert.deepEqual(readdirSync(dirs.reports), [], 'no run dir');
    assert.deepEqual(readdirSync(dirs.state), [], 'nothing journaled');
  });

  it('should run the load as a Job of 2 indexed pods, merge both segments and keep the write history exact', async () => {
    const scenario = await loadScenario(scenarioFile);
    scenario.faults = scenario.faults.filter((f) => f.kind === 'partition');
    scenario.checks.rescheduling = { ...scenario.checks.rescheduling, trials: 0 };
    delete scenario.checks.schedulingBench;
    const { record: r, runDir } = await runCampaign({
      scenario,
      target: kubeLocalPlugin,
      signal: new AbortController().signal,
      loadReplicas: 2,
    });
    assert.equal(r.error, undefined, r.error);
    const load = join(runDir, 'load');
    const job = JSON.parse(readFileSync(join(load, 'load-job.json'), 'utf8')) as LoadJobRecord;
    assert.equal(job.completions, 2);
    assert.equal(job.completionMode, 'Indexed');
    assert.equal(job.succeeded, 2, JSON.stringify(job));
    assert.ok(job.conditions.includes('Complete'), job.conditions.join());
    assert.deepEqual(job.pods.map((p) => p.index).sort(), [0, 1]);
    for (const p of job.pods) {
      assert.deepEqual(p.phases.slice(-2), ['Running', 'Succeeded'], p.name);
      assert.equal(p.exitCode, 0);
      assert.equal(alive(p.pid!), false, `runner process ${p.pid} gone`);
    }
    assert.equal(job.jobDeleted, true, 'the Job is deleted');
    assert.equal(job.nodeDeleted, true, 'the load node is deleted');
    // both segments wrote, and the merged file the checks read holds exactly their writes, no id twice
    const seg = [0, 1].map((i) => writeIds(readSamples(join(load, `segment-${i}`, 'samples.jsonl'))));
    for (const ids of seg) assert.ok(ids.length > 50, `${ids.length} writes in a segment`);
    const merged = readSamples(join(load, 'samples.jsonl'));
    const ids = writeIds(merged);
    assert.equal(ids.length, seg[0]!.length + seg[1]!.length);
    assert.equal(new Set(ids).size, ids.length, 'no write id twice across the segments');
    const ts = merged.map((s) => s.t);
    assert.deepEqual(
      ts,
      [...ts].sort((a, b) => a - b),
      'merged in time order',
    );
    // the two segments together ran the scenario's 30 writes/s over its 10 s (±2 arrivals at the edges)
    assert.ok(Math.abs(ids.length - 300) <= 2, `${ids.length} writes`);
    // k6's metrics are those of the whole test: both pods' requests, their latencies in one histogram
    const reqs = (i: number): number =>
      (JSON.parse(readFileSync(join(load, `segment-${i}`, 'load-result.json'), 'utf8')) as EngineResult).data
        .metrics['http_reqs']!.values['count']!;
    const m = r.evidence?.load?.metrics;
    assert.ok(reqs(0) > 50 && reqs(1) > 50);
    assert.equal(m?.['http_reqs']?.['count'], reqs(0) + reqs(1), 'the requests of both pods');
    assert.ok((m?.['http_req_duration']?.['p(95)'] ?? 0) > 0, 'the latencies merged, not dropped');
    const sync = r.checks.find((c) => c.id === 'resumed-sync');
    assert.equal(sync?.status, 'passed', sync?.summary);
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
      'every process and the control plane reverted',
    );
  });
});
