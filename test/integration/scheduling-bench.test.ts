import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { pidsWithToken, run } from '../../src/core/proc.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { comparisonRows, runSchedulingBench, schedulingMetrics } from '../../src/scheduling/index.ts';
import { tempDir } from '../helpers/temp.ts';

/** The CI-size scheduling benchmark (20 kwok nodes, 200 pods per scheduler) and the Go unit tests. */
describe('scheduling benchmark and edge-scheduler Go tests', () => {
  const dir = tempDir('sched-bench');
  after(() => dir[Symbol.dispose]());

  it('should run the default scheduler and the edge scheduler side by side and place latency-aware', async (t) => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('edgechaos-bench-sched-'));
    const reg = CleanupRegistry.open('test-sched-bench', dir.path);
    try {
      const r = await runSchedulingBench({ nodes: 20, pods: 200, registry: reg, migrationTrials: 1 });
      for (const row of comparisonRows(r)) t.diagnostic(row.join(' | '));
      t.diagnostic(`migration: ${JSON.stringify(r.migration)}`);
      for (const s of [r.baseline, r.edge]) {
        assert.equal(s.latency.createdToScheduled.count, 200, `${s.scheduler} bound every pod`);
        assert.ok(s.latency.scheduledPerSecond > 0);
      }
      assert.equal(r.edge.quality.onDownUplink, 0, 'no cloud-bound pod on the partitioned node');
      assert.ok(
        r.edge.quality.lowLatencyShare >= r.baseline.quality.lowLatencyShare + 0.3,
        `latency-aware: ${r.edge.quality.lowLatencyShare} vs ${r.baseline.quality.lowLatencyShare}`,
      );
      assert.ok(r.edge.quality.cpuSpread <= r.baseline.quality.cpuSpread, 'load-aware: no wider CPU spread');
      // Timing ratios depend on the machine; the bench reports them, the test only guards gross regressions.
      assert.ok(r.edge.latency.scheduledPerSecond >= 0.5 * r.baseline.latency.scheduledPerSecond);
      assert.ok(
        r.migration && r.migration.evicted > 0 && r.migration.toReady.count > 0,
        'overload migration moved pods',
      );
      const m = schedulingMetrics(r);
      for (const k of [
        'scheduling.p99-ms',
        'scheduling.throughput-pods-per-s',
        'scheduling.cpu-spread',
        'scheduling.low-latency-share',
        'reschedule.p99-ms',
      ])
        assert.ok(Number.isFinite(m[k]?.value), k);
    } finally {
      await reg.close();
    }
    assert.deepEqual(pidsWithToken('test-sched-bench'), [], 'no process left');
    const left = readdirSync(tmpdir()).filter(
      (f) => f.startsWith('edgechaos-bench-sched-') && !before.includes(f),
    );
    assert.deepEqual(left, [], 'no temp dir left');
    assert.equal(existsSync(join(dir.path, 'test-sched-bench.journal')), false);
  });

  it('should pass go vet and the table-driven Go tests of the plugins (race detector on the policy)', async () => {
    const cwd = join(repoRoot, 'stack', 'scheduler');
    const env = { ...process.env, PATH: `${process.env['PATH'] ?? ''}:/usr/local/go/bin` };
    await run(['go', 'vet', './...'], { cwd, env });
    await run(['go', 'test', '-race', '-count=1', './...'], { cwd, env });
  });
});
