import { join } from 'node:path';
import { checkSchedulingBench } from '../../checks/scheduling.ts';
import { notProvided, type CheckResult } from '../../checks/types.ts';
import { CleanupRegistry, newRunId } from '../../core/cleanup/registry.ts';
import { runSchedulingBench } from '../../scheduling/index.ts';
import type { StackManifest } from '../../stack/manifest.ts';
import { keepOnlyLogs } from '../kube/campaign.ts';
import type { TargetCheckSettings } from '../plugin.ts';

/** kube-local: the scheduling benchmark of the stack's edge-scheduler, when the scenario asks for it. */
export async function benchCheck(
  settings: TargetCheckSettings,
  stack: StackManifest,
  runDir: string,
  signal: AbortSignal,
): Promise<CheckResult[]> {
  const b = settings.schedulingBench;
  if (!b) return [];
  const title = 'Scheduling benchmark beside the default scheduler';
  if (stack.kube?.scheduler !== 'edge-scheduler')
    return [
      notProvided(
        'scheduling-bench',
        title,
        'the stack brings no scheduler of its own (stack.kube.scheduler)',
      ),
    ];
  const t0 = performance.now();
  await using reg = CleanupRegistry.open(newRunId('schedbench'));
  let r: Awaited<ReturnType<typeof runSchedulingBench>>;
  try {
    r = await runSchedulingBench({
      nodes: b.nodes,
      pods: b.pods,
      rounds: b.rounds,
      migrationTrials: 0,
      registry: reg,
      dir: join(runDir, 'scheduling-bench'),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    return [
      {
        id: 'scheduling-bench',
        title,
        status: 'failed',
        summary: `the benchmark did not finish: ${err instanceof Error ? err.message : String(err)}`,
        metrics: {},
        evidence: {},
        durationMs: Math.round(performance.now() - t0),
      },
    ];
  } finally {
    keepOnlyLogs(join(runDir, 'scheduling-bench'));
  }
  const pick = (x: typeof r.edge) => ({
    scheduler: x.scheduler,
    p99: x.p99,
    throughput: x.throughput,
    cpuSpread: x.cpuSpread,
    lowLatencyShare: x.lowLatencyShare,
  });
  return [
    {
      ...checkSchedulingBench({
        nodes: r.nodes,
        pods: r.pods,
        rounds: b.rounds,
        edge: pick(r.edge),
        baseline: pick(r.baseline),
      }),
      durationMs: Math.round(performance.now() - t0),
    },
  ];
}
