import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CleanupRegistry, newRunId } from '../../core/cleanup/registry.ts';
import { ExitCode, UsageError } from '../../core/errors.ts';
import { reportsDir } from '../../core/paths.ts';
import { loadRubric } from '../../scoring/rubric.ts';
import { score } from '../../scoring/score.ts';
import { repoRoot } from '../../core/paths.ts';
import {
  breakdownHeader,
  breakdownRows,
  comparisonHeader,
  comparisonRows,
  defaultPacedPods,
  limitHeader,
  limitRows,
  podsDoNotFit,
  runSchedulingBench,
  schedulingMetrics,
  writeEvidence,
} from '../../scheduling/index.ts';
import { printJson, table } from '../output.ts';

export interface BenchOptions {
  nodes: string;
  pods: string;
  qps?: string;
  burst?: string;
  migrationTrials: string;
  rounds: string;
  arrivalRate?: string;
  pacedPods?: string;
  seed?: string;
  out?: string;
  profile?: boolean;
  json?: boolean;
}

function positiveInt(flag: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

/** `edgechaos bench scheduling`: default kube-scheduler vs edge-scheduler on the embedded control plane. */
export async function benchCommand(what: string, opts: BenchOptions, signal: AbortSignal): Promise<number> {
  if (what !== 'scheduling') throw new UsageError(`unknown benchmark "${what}" (available: scheduling)`);
  const nodes = positiveInt('--nodes', opts.nodes, 2)!;
  const pods = positiveInt('--pods', opts.pods)!;
  const qps = positiveInt('--qps', opts.qps);
  const burst = positiveInt('--burst', opts.burst);
  const migrationTrials = positiveInt('--migration-trials', opts.migrationTrials, 0)!;
  const rounds = positiveInt('--rounds', opts.rounds)!;
  const arrivalRate = positiveInt('--arrival-rate', opts.arrivalRate);
  const pacedPods = positiveInt('--paced-pods', opts.pacedPods);
  const seed = positiveInt('--seed', opts.seed);
  const tooMany = podsDoNotFit(nodes, pods, pacedPods ?? defaultPacedPods(pods));
  if (tooMany) throw new UsageError(`--nodes/--pods/--paced-pods: ${tooMany}`);
  const runId = newRunId('bench-scheduling');
  const registry = CleanupRegistry.open(runId);
  try {
    const out = opts.out ?? join(reportsDir(), runId, 'scheduling.json');
    const profileDir = opts.profile ? join(out, '..', 'profiles') : undefined;
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    const traceDir = join(out, '..', 'traces');
    mkdirSync(traceDir, { recursive: true });
    const r = await runSchedulingBench({
      nodes,
      pods,
      registry,
      migrationTrials,
      rounds,
      ...(arrivalRate ? { arrivalRate } : {}),
      ...(pacedPods ? { pacedPods } : {}),
      ...(seed ? { seed } : {}),
      ...(qps ? { qps } : {}),
      ...(burst ? { burst } : {}),
      ...(profileDir ? { profileDir } : {}),
      traceDir,
      signal,
      onProgress: (l) => console.error(`bench: ${l}`),
    });
    mkdirSync(join(out, '..'), { recursive: true });
    writeEvidence(out, r);
    const metrics = schedulingMetrics(r);
    if (opts.json) {
      printJson({ evidence: out, metrics, result: r });
      return ExitCode.Pass;
    }
    console.log(
      `${r.nodes} kwok nodes (${r.topology.sources} sites, ${r.topology.busyNodes} busy, uplink down: ${r.topology.uplinkDown.join(', ') || 'none'}); ` +
        `${r.rounds.length / 2} round(s) per scheduler, alternating, after one warm-up round each; per round ${r.pacedPods} pods arriving at ${r.arrivalRate}/s (p50/p99), then ${r.pods} at once (${r.concurrency} in flight: pods/s, burst p99); ` +
        `both schedulers: client qps ${r.qps}/burst ${r.burst}, parallelism ${String(r.sharedConfig['parallelism'])}, percentageOfNodesToScore ${String(r.sharedConfig['percentageOfNodesToScore'])} (adaptive)\n`,
    );
    console.log(table(comparisonRows(r), comparisonHeader));
    const own = breakdownRows(r);
    if (own.length) {
      console.log('\npaced phase as each scheduler saw it (means from its /metrics):\n');
      console.log(table(own, breakdownHeader));
    }
    console.log("\nburst phase: what limited each throughput figure (from the scheduler's own /metrics):\n");
    console.log(table(limitRows(r), limitHeader));
    console.log(`limited by (most rounds): default ${r.baseline.limitedBy}, edge ${r.edge.limitedBy}`);
    const res = [...r.rounds.map((x) => x.paced.clock?.resolutionMs ?? 0)];
    console.log(
      `paced latency: scheduler event times aligned to the harness clock (resolution ${Math.max(...res)} ms; ${r.rounds.reduce((n, x) => n + (x.paced.subResolution ?? 0), 0)} sample(s) below it reported as it)`,
    );
    if (r.migration) {
      const m = r.migration.toReady;
      console.log(
        `\noverload migration: ${r.migration.evicted} pod(s) evicted in ${r.migration.trials} trial(s), ${r.migration.backOnOverloaded} placed back on the overloaded node; overload → replacement Ready p50 ${m.p50} ms, p99 ${m.p99} ms; moves: ${r.migration.moves.join(', ')}`,
      );
    }
    const rubric = await loadRubric(join(repoRoot, 'scenarios', 'rubric.ts'));
    const s = score(rubric, metrics);
    const sched = s.criteria.filter((c) => c.area === 'dynamic-scheduling' && c.points !== undefined);
    console.log(
      `\nrubric ${s.rubric.name} v${s.rubric.version}: ` +
        sched.map((c) => `${c.id} ${c.points!.toFixed(1)}/${c.weight}`).join(', '),
    );
    console.log(`evidence: ${out}`);
    return ExitCode.Pass;
  } finally {
    await registry.close();
  }
}
