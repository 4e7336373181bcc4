import { describePlan } from '../../campaign/plan.ts';
import { prevalidateCampaign } from '../../campaign/prevalidate.ts';
import type { RunRecord } from '../../campaign/record.ts';
import { runCampaign, type Deployer, type Progress } from '../../campaign/run.ts';
import { loadScenario } from '../../campaign/scenario.ts';
import { kindDeployer, kubeDeployer } from '../../campaign/kube-deployer.ts';
import { sshDeployer } from '../../targets/ssh/deployer.ts';
import { ExitCode, UsageError } from '../../core/errors.ts';
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
  json?: boolean;
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
  deployers: Record<string, Deployer>,
): Promise<number> {
  const scenario = await loadScenario(file);
  let seed: number | undefined;
  if (opts.seed !== undefined) {
    seed = Number(opts.seed);
    if (!Number.isInteger(seed) || seed < 0)
      throw new UsageError(`--seed must be a non-negative integer, got ${opts.seed}`);
  }
  const deploy =
    opts.target === 'ssh' && opts.inventory
      ? sshDeployer(opts.inventory)
      : opts.target === 'kube' && (opts.kubeconfig || opts.context)
        ? kubeDeployer({
            ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
            ...(opts.context ? { context: opts.context } : {}),
          })
        : opts.target === 'kind' && opts.kindImage
          ? kindDeployer({ nodeImage: opts.kindImage })
          : deployers[opts.target];
  if (!deploy)
    throw new UsageError(
      `target "${opts.target}" cannot run campaigns yet (available: ${Object.keys(deployers).join(', ')})`,
    );
  if (opts.target === 'ssh' && !opts.inventory && !process.env['EDGECHAOS_INVENTORY']) {
    throw new UsageError(
      '--target ssh needs an inventory file: --inventory boards.ts (or $EDGECHAOS_INVENTORY)',
    );
  }
  if (opts.dryRun) {
    // the same prevalidation as a real run (plan, stack, rubric, the target's preflight); nothing is created
    const { plan } = await prevalidateCampaign(scenario, {
      seed,
      stackFile: opts.stack,
      preflight: deploy.preflight,
    });
    if (opts.json) printJson({ scenario: scenario.name, plan });
    else console.log(describePlan(scenario, plan).join('\n'));
    return ExitCode.Pass;
  }
  scenario.target.kind = opts.target as typeof scenario.target.kind;
  const { record, runDir } = await runCampaign({
    scenario,
    deploy,
    signal,
    progress: progress(opts.json ?? false),
    ...(seed !== undefined ? { seed } : {}),
    ...(opts.stack ? { stackFile: opts.stack } : {}),
  });
  if (opts.json) printJson({ runDir, record });
  else {
    console.log(
      `\nrun ${record.runId}  scenario ${record.scenario.name}  seed ${record.seed}  stack ${record.stack.name}  rubric ${record.rubric.name} v${record.rubric.version}`,
    );
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
    console.log(scoreTable(record));
    console.log(
      `\nSCORE ${record.score.total.toFixed(1)} / ${record.score.possible} (${record.score.percent.toFixed(1)}%) over the criteria measured on this target`,
    );
    for (const g of record.score.failedGates) console.log(`gate failed: ${g}`);
    if (record.harness)
      console.log(
        `harness overhead: ${(record.harness.shareOfOneCore * 100).toFixed(1)}% of one core while the load ran`,
      );
    if (record.error) console.log(`campaign error: ${record.error}`);
    console.log(`reports: ${runDir}`);
  }
  if (record.error) return ExitCode.Environment;
  return record.gatesPassed ? ExitCode.Pass : ExitCode.GateFailed;
}
