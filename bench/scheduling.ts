/**
 * Scheduling benchmark at larger sizes, on demand: the stock kube-scheduler (default plugins) and
 * the edge scheduler side by side on one embedded control plane with kwok nodes.
 *
 *   npx tsx bench/scheduling.ts [nodes=100] [pods=2000] [qps=5000] [burst=5000] [migrationTrials=3] [rounds=3]
 *   npx tsx bench/scheduling.ts 1000 10000 5000 5000 1 2   (the large run; ~GBs of etcd/apiserver RSS)
 *
 * qps/burst are both schedulers' client limits; at Kubernetes' default (50/100) the token bucket,
 * not the scheduler, sets the throughput. The "limited by" table says which component did.
 *
 * Needs `edgechaos bootstrap --kube`. Prints the side-by-side table and writes the evidence JSON
 * (metrics scheduling.* and reschedule.p99-ms) to reports/<run-id>/scheduling.json.
 * `edgechaos bench scheduling` is the same with CLI flags (CI runs it at 20 nodes / 200 pods).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { table } from '../src/cli/output.ts';
import { CleanupRegistry, newRunId } from '../src/core/cleanup/registry.ts';
import { setLogLevel } from '../src/core/logger.ts';
import { reportsDir } from '../src/core/paths.ts';
import {
  breakdownHeader,
  breakdownRows,
  comparisonHeader,
  comparisonRows,
  limitHeader,
  limitRows,
  runSchedulingBench,
  writeEvidence,
} from '../src/scheduling/index.ts';

const [nodes = 100, pods = 2000, qps = 5000, burst = 5000, migrationTrials = 3, rounds = 3] = process.argv
  .slice(2)
  .map(Number);
setLogLevel('warn');
const runId = newRunId('bench-scheduling');
const registry = CleanupRegistry.open(runId);
try {
  const t0 = Date.now();
  const r = await runSchedulingBench({
    nodes,
    pods,
    qps,
    burst,
    migrationTrials,
    rounds,
    registry,
    timeoutMs: 2 * 3600_000,
    onProgress: (l) => console.error(`[${((Date.now() - t0) / 1000).toFixed(0)} s] ${l}`),
  });
  console.log(
    `${nodes} nodes; ${rounds} alternating round(s) per scheduler of ${r.pacedPods} pods at ${r.arrivalRate}/s then ${pods} at once; qps ${qps}/burst ${burst}; control plane ready in ${r.clusterReadyMs} ms`,
  );
  console.log(table(comparisonRows(r), comparisonHeader));
  console.log('paced phase as each scheduler saw it (means from its /metrics):');
  console.log(table(breakdownRows(r), breakdownHeader));
  console.log("burst phase: what limited each throughput figure (from the scheduler's own /metrics):");
  console.log(table(limitRows(r), limitHeader));
  if (r.migration)
    console.log(
      `overload migration: ${r.migration.evicted} pods evicted in ${r.migration.trials} trials, ${r.migration.backOnOverloaded} back on the overloaded node; to Ready p50 ${r.migration.toReady.p50} ms p99 ${r.migration.toReady.p99} ms; ${r.migration.moves.join(', ')}`,
    );
  const out = join(reportsDir(), runId, 'scheduling.json');
  mkdirSync(join(out, '..'), { recursive: true });
  writeEvidence(out, r);
  console.log(`evidence: ${out} (${((Date.now() - t0) / 1000).toFixed(0)} s total)`);
} finally {
  await registry.close();
}
