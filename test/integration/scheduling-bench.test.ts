import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { pidsWithToken, run } from '../../src/core/proc.ts';
import { repoRoot } from '../../src/core/paths.ts';
import {
  BASELINE_SCHEDULER_NAME,
  comparisonRows,
  EDGE_SCHEDULER_NAME,
  runSchedulingBench,
  schedulingMetrics,
  type SchedulingTrace,
} from '../../src/scheduling/index.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * The CI-size scheduling benchmark (20 kwok nodes, 200 pods per round, two alternating rounds per
 * scheduler) and the Go unit tests. Asserts structure and placement correctness, never speed.
 */
describe('scheduling benchmark and edge-scheduler Go tests', () => {
  const dir = tempDir('sched-bench');
  after(() => dir[Symbol.dispose]());

  it('should run the default scheduler and the edge scheduler in alternating rounds and place latency-aware', async (t) => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('edgechaos-bench-sched-'));
    const reg = CleanupRegistry.open('test-sched-bench', dir.path);
    try {
      const r = await runSchedulingBench({
        nodes: 20,
        pods: 200,
        rounds: 2,
        registry: reg,
        migrationTrials: 1,
        traceDir: dir.path,
        profileDir: dir.path,
      });
      for (const row of comparisonRows(r)) t.diagnostic(row.join(' | '));
      t.diagnostic(`migration: ${JSON.stringify(r.migration)}`);
      // Structure: a warm-up round each, then default, edge, default, edge — fresh namespaces.
      assert.deepEqual(
        r.warmup.map((x) => x.scheduler),
        [BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME],
      );
      assert.deepEqual(
        r.rounds.map((x) => `${x.round}:${x.scheduler}`),
        [1, 1, 2, 2].map((n, i) => `${n}:${i % 2 ? EDGE_SCHEDULER_NAME : BASELINE_SCHEDULER_NAME}`),
      );
      const namespaces = [...r.warmup, ...r.rounds].map((x) => x.namespace);
      assert.equal(new Set(namespaces).size, namespaces.length, 'a fresh namespace per round');
      assert.equal(r.baseline.rounds, 2);
      assert.equal(r.edge.rounds, 2);
      // Both schedulers get the same configuration apart from the profile (see the unit test for
      // the files themselves) and the same pods at the same offered load.
      assert.equal(r.sharedConfig['percentageOfNodesToScore'], 0);
      for (const x of r.rounds) {
        assert.equal(x.paced.pods, r.pacedPods);
        assert.equal(x.paced.latency.count, r.pacedPods, `${x.namespace}: every paced pod bound`);
        assert.equal(x.burst.latency.count, 200, `${x.namespace}: every burst pod bound`);
        assert.equal(x.paced.rate, r.arrivalRate);
        for (const ph of [x.paced, x.burst]) {
          assert.ok(
            ph.latency.p50 >= 0 && ph.latency.p50 <= ph.latency.p99 && ph.latency.p99 <= ph.latency.max,
          );
          assert.ok(ph.throughput > 0 && ph.makespanMs > 0);
          // Event times aligned to the harness clock: no latency below what the alignment resolves.
          assert.ok(
            ph.clock && ph.latency.p50 >= ph.clock.resolutionMs,
            `${x.namespace}: ${JSON.stringify(ph.clock)}`,
          );
          // Binding times come from the schedulers' Scheduled events (a lost event falls back
          // to the watch); most must be there, or the figures are the harness's event loop again.
          assert.ok(
            ph.boundFromEvents >= 0.9 * ph.pods,
            `${x.namespace}: ${ph.boundFromEvents}/${ph.pods} events`,
          );
        }
        // The client limits no longer cap the binding rate: some other component is named.
        assert.ok(x.burst.limitedBy, `${x.namespace}: what limited the burst`);
        assert.notEqual(x.burst.limitedBy.component, 'client-rate-limit', x.burst.limitedBy.why);
        if (x.scheduler === EDGE_SCHEDULER_NAME)
          assert.equal(
            x.quality.onDownUplink,
            0,
            `${x.namespace}: no cloud-bound pod on the partitioned node`,
          );
      }
      // The default scheduler does not know about uplinks: it does put cloud-bound pods on the
      // partitioned node, so the zero above is the filter's doing, not the topology's.
      assert.ok(r.baseline.onDownUplink > 0, 'the default scheduler uses the partitioned node');
      // Placement quality (replayed from the bindings, not timed): latency- and load-aware.
      assert.ok(
        r.edge.lowLatencyShare >= r.baseline.lowLatencyShare + 0.3,
        `latency-aware: ${r.edge.lowLatencyShare} vs ${r.baseline.lowLatencyShare}`,
      );
      assert.ok(r.edge.meanLatencyMs < r.baseline.meanLatencyMs);
      assert.ok(r.edge.cpuSpread <= r.baseline.cpuSpread, 'load-aware: no wider CPU spread');
      // No assertion on speed: timing ratios depend on the machine; the table reports them.
      const rows = comparisonRows(r);
      assert.deepEqual(
        rows.map((x) => `${x[0]} ${x[1]}`),
        [
          '1 default',
          '1 edge',
          '1 edge/default',
          '2 default',
          '2 edge',
          '2 edge/default',
          'median default',
          'median edge',
          'median edge/default',
        ],
      );
      assert.ok(r.migration && r.migration.evicted > 0, 'overload migration evicted pods');
      assert.equal(
        r.migration.backOnOverloaded,
        0,
        `replacements avoid the overloaded node: ${r.migration.moves.join(', ')}`,
      );
      assert.equal(r.migration.toReady.count, r.migration.evicted, 'every replacement Ready elsewhere');
      // The first measured round of each is recorded (the offline policy experiments replay it)
      // and profiled (pprof: gzip).
      for (const s of [BASELINE_SCHEDULER_NAME, EDGE_SCHEDULER_NAME]) {
        const trace = JSON.parse(readFileSync(join(dir.path, `${s}.trace.json`), 'utf8')) as SchedulingTrace;
        assert.equal(trace.scheduler, s);
        assert.equal(trace.nodes.length, 20);
        assert.equal(trace.pods.length, r.pacedPods + 200);
        assert.equal(trace.placements.length, trace.pods.length, `${s}: every pod's node recorded`);
        const nodes = new Set(trace.nodes.map((n) => n.name));
        assert.ok(trace.placements.every((p) => nodes.has(p.node)));
        const profile = readFileSync(join(dir.path, `${s}.cpu.pprof`));
        assert.ok(
          profile.length > 100 && profile[0] === 0x1f && profile[1] === 0x8b,
          `${s}: a pprof profile`,
        );
      }
      // Each edge plugin ran at every extension point it implements (a configuration that
      // enables them under filter/score only never calls PreFilter/PreScore).
      for (const point of [
        'UplinkFilter/PreFilter',
        'UplinkFilter/Filter',
        'EdgePlacement/PreScore',
        'EdgePlacement/Score',
      ])
        assert.ok(
          r.pluginPoints[EDGE_SCHEDULER_NAME]!.includes(point),
          `${point} in ${r.pluginPoints[EDGE_SCHEDULER_NAME]!.join(' ')}`,
        );
      assert.ok(
        !r.pluginPoints[BASELINE_SCHEDULER_NAME]!.some((x) => x.startsWith('Edge') || x.startsWith('Uplink')),
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
