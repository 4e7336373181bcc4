import { DEFAULT_CAPACITY } from '../../campaign/capacity.ts';
import { describePlan } from '../../campaign/plan.ts';
import type { RunRecord } from '../../campaign/record.ts';
import { formatScore } from './score.ts';
import { prepareRun, runCampaign, type Progress } from '../../campaign/run.ts';
import { loadScenario } from '../../campaign/scenario.ts';
import { ExitCode, UsageError } from '../../core/errors.ts';
import { logger } from '../../core/logger.ts';
import { writeReports } from '../../report/index.ts';
import { checkTargetOptions, targetPlugin } from '../../targets/registry.ts';
import { formatDuration } from '../../core/duration.ts';
import { printJson, table } from '../output.ts';

export interface RunCommandOptions {
  target: string;
  stack?: string;
  seed?: string;
  dryRun?: boolean;
  /** --target ssh: the inventory file (else $EDGECHAOS_INVENTORY). */
  inventory?: string;
  /** --target kube: kubeconfig file (else $KUBECONFIG) and context. */
  kubeconfig?: string;
  context?: string;
  /** --target kind: kindest/node image. */
  kindImage?: string;
  /** Where the run dir goes (default reports/<stamp>-<scenario>). */
  out?: string;
  /** Competitor label for the provenance (default: the stack's name). */
  label?: string;
  /** --find-capacity: a capacity search per edge after the checks (the stress-capacity check). */
  findCapacity?: boolean;
  /** --load-replicas N: the load as a Kubernetes Job of N execution segments (kube-local). */
  loadReplicas?: string;
  json?: boolean;
}

/** The run's --target options, by the option names targets declare. */
function targetOptions(o: RunCommandOptions): Record<string, string | undefined> {
  return { inventory: o.inventory, kubeconfig: o.kubeconfig, context: o.context, 'kind-image': o.kindImage };
}

export function scoreTable(r: RunRecord): string {
  const rows = r.score.criteria.map((c) => {
    const measured = c.terms
      .filter((t) => t.measured)
      .map((t) => `${t.metric}=${fmt(t.measured!.value, t.measured!.unit)}`)
      .join(' ');
    return [
      c.title.split(' (')[0]!,
      c.points === undefined ? 'not measured' : `${c.points.toFixed(1)} / ${c.weight}`,
      measured || '-',
    ];
  });
  return table(rows, ['criterion', 'points', 'measured']);
}

function fmt(v: number, unit: string): string {
  if (unit === 'B') return v >= 1e6 ? `${(v / 1e6).toFixed(2)}MB` : `${(v / 1e3).toFixed(1)}kB`;
  if (unit === 'ms') return `${v.toFixed(v < 10 ? 1 : 0)}ms`;
  if (unit === 'ratio') return v.toFixed(3);
  return `${Number.isInteger(v) ? v : v.toFixed(2)}${unit && unit !== 'ratio' ? '' : ''}`;
}

/** Progress lines: a live line in a TTY, plain lines otherwise (CI). */
function progress(json: boolean): Progress {
  const tty = process.stderr.isTTY && !process.env['CI'] && !json;
  return {
    phase: (name) => {
      if (!json) process.stderr.write(`${tty ? '\r\x1b[K' : ''}campaign: ${name}\n`);
    },
    tick: (s) => {
      if (json) return;
      const line = `campaign: load ${formatDuration(s.elapsedMs)} / ${formatDuration(s.totalMs)}  ${s.requests} req/s, ${s.errors} errors  faults: ${s.activeFaults.join(', ') || 'none'}`;
      if (tty) process.stderr.write(`\r\x1b[K${line}`);
      else if (Math.round(s.elapsedMs / 1000) % 10 === 0) process.stderr.write(`${line}\n`);
    },
  };
}

export async function runCommand(
  file: string,
  opts: RunCommandOptions,
  signal: AbortSignal,
): Promise<number> {
  const scenario = await loadScenario(file);
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    seed = Number(opts.seed);
    if (!Number.isInteger(seed) || seed < 0)
      throw new UsageError(`--seed must be a non-negative integer, got ${opts.seed}`);
  }
  const target = await targetPlugin(opts.target);
  const options = targetOptions(opts);
  checkTargetOptions(target, options);
  scenario.target.kind = target.name as typeof scenario.target.kind;
  const runOpts = {
    scenario,
    target,
    targetOptions: options,
    signal,
    progress: progress(opts.json ?? false),
    ...(seed !== undefined ? { seed } : {}),
    ...(opts.stack ? { stackFile: opts.stack } : {}),
    ...(opts.out ? { outDir: opts.out } : {}),
    ...(opts.label ? { label: opts.label } : {}),
    ...(opts.findCapacity ? { capacity: DEFAULT_CAPACITY } : {}),
    ...(opts.loadReplicas !== undefined ? { loadReplicas: Number(opts.loadReplicas) } : {}),
  };
  if (opts.dryRun) {
    // Everything a real run checks before it creates anything: plan, stack, rubric, the target's preflight.
    const p = await prepareRun(runOpts);
    if (opts.json) printJson({ scenario: scenario.name, target: target.name, plan: p.plan });
    else console.log(describePlan(scenario, p.plan).join('\n'));
    return ExitCode.Pass;
  }
  const { record, runDir } = await runCampaign(runOpts);
  // Reports never change the verdict; a missing Chromium only costs the PDF (the error says how to get it).
  if (!record.interrupted)
    try {
      const written = await writeReports(runDir, record, { signal });
      log.info(
        `reports: ${Object.entries(written.timings)
          .map(([k, v]) => `${k} ${v} ms`)
          .join(', ')}`,
      );
    } catch (err) {
      log.warn(
        `reports incomplete: ${err instanceof Error ? err.message : String(err)} (regenerate with: edgechaos report ${runDir})`,
      );
    }
  if (opts.json) printJson({ runDir, record });
  else printRun(record, runDir);
  return runExitCode(record);
}

/**
 * 130 interrupted, 3 the campaign broke, 1 a gate or a check failed, 99 when the only failures are
 * the load script's thresholds (as k6 exits), 0 otherwise.
 */
export function runExitCode(record: RunRecord): number {
  if (record.interrupted) return ExitCode.Interrupted;
  if (record.error) return ExitCode.Environment;
  if (record.gatesPassed) return ExitCode.Pass;
  const others = record.checks.some((c) => c.status === 'failed' && c.id !== 'load-thresholds');
  const thresholds = record.checks.some((c) => c.status === 'failed' && c.id === 'load-thresholds');
  return thresholds && !others && record.score.gatesPassed ? ExitCode.ThresholdsFailed : ExitCode.GateFailed;
}

const log = logger('run');

function printRun(record: RunRecord, runDir: string): void {
  console.log(
    `\nrun ${record.runId}  scenario ${record.scenario.name}  target ${record.target.kind}  seed ${record.seed}  stack ${record.stack.name}  rubric ${record.rubric.name} v${record.rubric.version}`,
  );
  if (record.interrupted) {
    console.log(`INTERRUPTED: nothing was judged or scored; what ran is in ${runDir}`);
    return;
  }
  console.log(
    table(
      record.checks.map((c) => [
        c.status === 'passed' ? 'PASS' : c.status === 'failed' ? 'FAIL' : 'n/m',
        c.id,
        c.summary,
      ]),
      ['verdict', 'check', 'measured'],
    ),
  );
  const windows = record.load.windows ?? [];
  if (windows.length) {
    console.log('');
    console.log(
      table(
        windows.map((w) => [
          w.name,
          w.node ?? 'all',
          String(w.stats.count),
          String(w.stats.failed),
          w.stats.p50.toFixed(1),
          w.stats.p95.toFixed(1),
          w.stats.p99.toFixed(1),
        ]),
        ['load window', 'node', 'requests', 'failed', 'p50 ms', 'p95 ms', 'p99 ms'],
      ),
    );
  }
  console.log('');
  // The same output as `edgechaos score`: failed gates first, formatted numbers.
  console.log(formatScore(record.score));
  if (record.harness)
    console.log(
      `harness overhead: ${(record.harness.shareOfOneCore * 100).toFixed(1)}% of one core while the load ran`,
    );
  if (record.error) console.log(`campaign error: ${record.error}`);
  console.log(`reports: ${runDir}`);
}
