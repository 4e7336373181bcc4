import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { kubeLocalPlugin } from '../../src/targets/kube-local/plugin.ts';
import type { RunRecord } from '../../src/campaign/record.ts';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario, type Scenario } from '../../src/campaign/scenario.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

/**
 * Campaigns on `--target kube-local`: the stack's processes in namespaces (as on local) plus a real
 * embedded control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes mirroring
 * the scenario's), so scheduling and rescheduling are measured and scored. A missing control-plane
 * build fails here with the bootstrap hint (startControlPlane), never skips.
 */
const scenarioFile = join(repoRoot, 'test/fixtures/scenarios/kube-e2e.ts');

async function campaign(
  stackFile: string | undefined,
  tweak: (s: Scenario) => void = () => {},
): Promise<RunRecord> {
  const scenario = await loadScenario(scenarioFile);
  tweak(scenario);
  const { record, runDir } = await runCampaign({
    scenario,
    target: kubeLocalPlugin,
    signal: new AbortController().signal,
    ...(stackFile ? { stackFile } : {}),
  });
  lastRunDir = runDir;
  return record;
}
let lastRunDir = '';

const check = (r: RunRecord, id: string) => r.checks.find((c) => c.id === id);
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('campaigns on the kube-local target (embedded control plane + local data plane)', () => {
  const dirs = isolatedRunDirs(before, after);

  it('should measure scheduling and rescheduling of the reference stack, apply the Kubernetes faults and score it', async () => {
    const r = await campaign(undefined);
    assert.equal(r.error, undefined, r.error);
    for (const c of r.checks) assert.notEqual(c.status, 'failed', `${c.id}: ${c.summary}`);
    const sched = check(r, 'scheduling-latency');
    assert.equal(sched?.status, 'passed', sched?.summary);
    const resched = check(r, 'rescheduling');
    assert.equal(resched?.status, 'passed', resched?.summary);
    const trials = resched.evidence['trials'] as {
      rescheduledMs: number;
      replacementNodes: string[];
      node: string;
    }[];
    assert.equal(trials.length, 2);
    for (const t of trials) {
      assert.ok(t.rescheduledMs > 0);
      assert.ok(!t.replacementNodes.includes(t.node), 'replacements run on other nodes');
    }
    assert.ok((r.metrics['reschedule.p99-ms']?.value ?? 0) > 0);
    assert.ok(r.metrics['scheduling.p99-ms'] !== undefined);
    assert.equal(r.score.criteria.find((c) => c.id === 'scheduling-latency')?.status, 'scored');
    // every planned Kubernetes fault was applied and reverted without error
    for (const kind of ['cordon', 'overload', 'drain', 'pod-kill']) {
      const f = r.faults.find((x) => x.kind === kind);
      assert.ok(f, `${kind} in the record`);
      assert.equal(f.error, undefined, `${kind}: ${f.error}`);
      assert.ok(f.end !== undefined, `${kind} ended`);
    }
    assert.equal(r.gatesPassed, true, r.score.failedGates.join('; '));
    // the benchmark beside the default scheduler measured the rubric's placement and throughput terms
    const bench = check(r, 'scheduling-bench');
    assert.equal(bench?.status, 'passed', bench?.summary);
    for (const m of [
      'scheduling.throughput-pods-per-s',
      'scheduling.cpu-spread',
      'scheduling.low-latency-share',
    ])
      assert.ok(r.metrics[m] !== undefined, m);
    for (const id of ['resource-utilisation', 'cluster-throughput'])
      assert.equal(r.score.criteria.find((c) => c.id === id)?.status, 'scored', id);
    // the stack's own scheduler (the reference edge-scheduler) placed its workload
    assert.match(sched.title, /\(edge-scheduler\)/);
    // no key, token or kubeconfig of the run's cluster is left in the run (= reports) dir
    const left = filesUnder(lastRunDir).filter(
      (f) =>
        /\.(key|kubeconfig|crt)$|tokens\.csv$/.test(f) || readFileSync(f, 'latin1').includes('PRIVATE KEY'),
    );
    assert.deepEqual(left, []);
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
      'every fault, process and the control plane reverted',
    );
  });

  it('should fail the rescheduling check on a stack whose workload tolerates node loss forever', async () => {
    const r = await campaign(join(repoRoot, 'test/fixtures/stacks/sticky-workload.stack.ts'), (s) => {
      s.faults = s.faults.filter((f) => f.kind === 'partition');
      delete s.checks.schedulingBench;
      s.checks.rescheduling = { trials: 1, mechanism: 'node-loss', maxP99Ms: 30_000, timeout: '35s' };
    });
    const resched = check(r, 'rescheduling');
    assert.equal(resched?.status, 'failed', resched?.summary);
    assert.match(resched.summary, /not rescheduled within 35000 ms/);
    assert.equal(r.metrics['reschedule.p99-ms']?.value, 35_000, 'a timed-out trial counts as the timeout');
    assert.equal(r.gatesPassed, false);
    // the data plane is the reference one: its checks still pass
    assert.equal(check(r, 'resumed-sync')?.status, 'passed');
  });
});
