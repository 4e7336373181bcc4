import { Command, Option } from 'commander';
import type { DeployOptions } from './commands/deploy.ts';
import type { InjectOptions } from './commands/inject.ts';
import type { RunCommandOptions } from './commands/run.ts';
import type { BenchOptions } from './commands/bench.ts';
import { catalogue } from '../../faults/catalogue.ts';
import { targetNames } from '../targets/registry.ts';
import { examples } from './output.ts';
import { harnessVersion } from '../record/version.ts';

/** Exit status of the action that ran (commander actions cannot return one). */
export interface ProgramResult {
  code: number;
}

const exitCodes = `
Exit codes:
  0  every gate passed / command succeeded
  1  a gate failed (a check's verdict, a score below its gate)
  2  usage or configuration error (bad flag, scenario, manifest, rubric)
  3  environment: a tool or capability is missing, a target failed
 99  run: only the load script's thresholds failed (as k6 exits)
130  interrupted (Ctrl-C, SIGTERM); everything applied was reverted
`;

/** commander wiring only: parse, call a use-case, record the exit code. */
export function buildProgram(
  result: ProgramResult,
  signal: AbortSignal = new AbortController().signal,
): Command {
  const program = new Command('edgechaos')
    .description(
      'Chaos and load testing harness for edge deployments: deploy a stack, load it, break it, check it, score it.',
    )
    .version(harnessVersion())
    .option('-v, --verbose', 'debug logging and stack traces on errors')
    .exitOverride()
    .addHelpText('after', exitCodes);
  const set = (p: Promise<number>): Promise<void> => p.then((c) => void (result.code = c));
  const wiring: Wiring = { set, signal };
  // --runtime oci|process: read by src/targets/local/oci/node.ts and src/targets/ssh/oci.ts
  program.hook('preAction', (_p, cmd) => {
    const r = cmd.opts<{ runtime?: string }>().runtime;
    if (r) process.env['EDGECHAOS_RUNTIME'] = r;
  });

  addRunCommand(program, wiring);
  addDeployCommand(program, wiring);
  addDestroyCommand(program, wiring);
  addInjectCommand(program, wiring);
  addCleanupCommand(program, wiring);
  addScoreCommand(program, wiring);
  addReportCommand(program, wiring);
  addConformCommand(program, wiring);
  addBenchCommand(program, wiring);
  addSubmissionCommand(program, wiring);
  addTournamentCommand(program, wiring);
  addDoctorCommand(program, wiring);
  addBootstrapCommand(program, wiring);
  return program;
}

/** What each command's wiring needs: where to put the exit code, the run's abort signal. */
interface Wiring {
  set: (p: Promise<number>) => Promise<void>;
  signal: AbortSignal;
}

function addRunCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('run')
    .description('run a campaign: deploy → load + faults → heal → checks → score → reports')
    .argument('<scenario>', 'scenario file (TypeScript, e.g. scenarios/standard.ts)')
    .addOption(new Option('--target <target>', 'where to deploy').choices(targetNames).default('local'))
    .option('--stack <manifest>', 'stack manifest (default: the reference stack, stack/edgechaos.stack.ts)')
    .option(
      '--seed <n>',
      'seed for randomised schedules (default: from the scenario, else random; always printed)',
    )
    .option('--dry-run', 'print the resolved plan (timeline of load and faults) without touching anything')
    .option('--inventory <file>', '--target ssh: the boards inventory (default $EDGECHAOS_INVENTORY)')
    .option('--kubeconfig <file>', '--target kube: the cluster (default $KUBECONFIG)')
    .option('--context <name>', "--target kube: kubeconfig context (default: the file's current one)")
    .option('--kind-image <image>', "--target kind: kindest/node image (default: kind's own)")
    .option('--out <dir>', 'the run directory (default: reports/<time>-<scenario>)')
    .option('--label <name>', "competitor label recorded in the run's provenance (default: the stack's name)")
    .option(
      '--find-capacity',
      'after the checks, ramp GET /v1/status on each edge until p99 > 100 ms or errors > 1 %, healed, then again under the faults the scenario holds on that edge: the stress-capacity check',
    )
    .option(
      '--load-replicas <n>',
      'kube-local, kind, kube: run the load as a Kubernetes Job of N indexed pods, each an execution segment of every executor (kube-local: pods as processes on this host; kind/kube: the load runner image on a tainted load node); samples merged',
    )
    .addOption(runtimeOption())
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(
        'edgechaos run scenarios/standard.ts',
        'edgechaos run scenarios/standard.ts --target kube-local   # + embedded control plane: scheduling, rescheduling',
        'edgechaos run scenarios/standard.ts --target kind         # needs Docker and kind',
        'edgechaos run scenarios/standard.ts --target kube-local --load-replicas 2',
        'edgechaos run scenarios/standard.ts --target kind --load-replicas 2   # a load worker node is added',
        'edgechaos run scenarios/offline-sync.ts --seed 42 --json',
        'edgechaos run scenarios/standard.ts --dry-run',
      ),
    )
    .action((file: string, opts: RunCommandOptions) =>
      set(import('./commands/run.ts').then((m) => m.runCommand(file, opts, signal))),
    );
}

function addDeployCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('deploy')
    .description('deploy a stack to a target and leave it running (for inject and conform)')
    .addOption(new Option('--target <target>', 'where to deploy').choices(targetNames).default('local'))
    .option('--nodes <n>', 'number of edge nodes', '3')
    .option('--stack <manifest>', 'stack manifest')
    .option('--json', 'print the deployment as JSON')
    .option(
      '--profile <board>',
      'board profile of every edge: rpi4, rpi-zero, jetson-nano, x86-edge, custom:cpus=0.5,memory=512MiB',
      'x86-edge',
    )
    .option('--subnet <cidr>', "private range to take the run's /24 from (local target)", '10.77.0.0/16')
    .option('--edge-mode <mode>', 'EDGE_MODE of the edge agents: auto, online, offline', 'auto')
    .addOption(runtimeOption())
    .option('--inventory <file>', '--target ssh: the boards inventory (default $EDGECHAOS_INVENTORY)')
    .addHelpText(
      'after',
      examples(
        'edgechaos deploy --target local --nodes 3',
        'edgechaos deploy --nodes 10 --json',
        'edgechaos deploy --target ssh --inventory lab/boards.json',
      ),
    )
    .action((opts: DeployOptions) =>
      set(import('./commands/deploy.ts').then((m) => m.deployCommand(opts, signal))),
    );
}

function addDestroyCommand(program: Command, { set }: Wiring): void {
  program
    .command('destroy')
    .description('tear down a deployment made by deploy')
    .option('--run <id>', 'deployment id (default: the newest)')
    .addHelpText('after', examples('edgechaos destroy', 'edgechaos destroy --run dep-lx2k3-ab12'))
    .option('--json', 'print what was reverted as JSON')
    .action((opts: { run?: string; json?: boolean }) =>
      set(import('./commands/destroy.ts').then((m) => m.destroyCommand(opts))),
    );
}

function addInjectCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('inject')
    .description('apply one fault to a deployed topology; revert when the time is up or on Ctrl-C')
    .argument('<fault>', `fault kind: ${Object.keys(catalogue).join(', ')}`)
    .option('--node <name>', 'node to hit, e.g. edge-2')
    .option('--for <duration>', 'how long, e.g. 30s', '30s')
    .option('--param <k=v...>', 'fault parameters, e.g. --param latency=200ms --param jitter=50ms')
    .option('--json', 'print what was applied as JSON')
    .option('--run <id>', 'deployment id (default: the newest)')
    .option('--seed <n>', 'seed for randomised schedules (flap)')
    .addHelpText(
      'after',
      examples(
        'edgechaos inject partition --node edge-1 --for 30s',
        'edgechaos inject latency --node edge-2 --for 1m --param latency=300ms --param jitter=50ms',
      ),
    )
    .action((kind: string, opts: InjectOptions) =>
      set(import('./commands/inject.ts').then((m) => m.injectCommand(kind, opts, signal))),
    );
}

function addCleanupCommand(program: Command, { set }: Wiring): void {
  program
    .command('cleanup')
    .description(
      'revert everything earlier runs applied and left behind (after a crash or kill -9 of the harness)',
    )
    .option('--force', 'also revert runs whose harness still seems alive')
    .option('--run <id>', 'only this run')
    .option('--json', 'print what was reverted as JSON')
    .addHelpText('after', examples('edgechaos cleanup', 'edgechaos cleanup --run run-lx2k3-ab12 --json'))
    .action((opts: { force?: boolean; run?: string; json?: boolean }) =>
      set(import('./commands/cleanup.ts').then((m) => m.cleanupCommand(opts))),
    );
}

function addScoreCommand(program: Command, { set }: Wiring): void {
  program
    .command('score')
    .description('recompute the score of a run from its stored evidence (e.g. with a newer rubric)')
    .argument('<run-dir>', 'a run directory under reports/')
    .option('--rubric <file>', 'rubric file (default: the rubric stored as data in run.json)')
    .option('--json', 'print the score as JSON')
    .addHelpText(
      'after',
      examples(
        'edgechaos score reports/20261125-2210-standard',
        'edgechaos score reports/20261125-2210-standard --rubric scenarios/rubric.ts --json',
      ),
    )
    .action((dir: string, opts: { rubric?: string; json?: boolean }) =>
      set(import('./commands/score.ts').then((m) => m.scoreCommand(dir, opts))),
    );
}

function addReportCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('report')
    .description('(re)generate reports of a run from its run.json: HTML, JUnit, Allure, PDF; or compare runs')
    .argument('<run-dir...>', 'run directory, or `compare <run-a> <run-b> ...`')
    .option('--allure', 'also generate the Allure HTML (allure-report/, Allure 3, offline)')
    .option('--no-pdf', 'skip the PDF and PNG (they need Chromium at /usr/bin/chromium)')
    .option('--out <file>', 'compare: where to write the HTML (default: compare.html beside the first run)')
    .option('--json', 'print the written files (or the comparison) as JSON')
    .addHelpText(
      'after',
      examples(
        'edgechaos report reports/20261125-2210-standard',
        'edgechaos report reports/20261125-2210-standard --allure --no-pdf',
        'edgechaos report compare reports/a reports/b --out scoreboard.html',
      ),
    )
    // Loaded on use: the report writers pull in Playwright and Allure.
    .action((args: string[], opts: { allure?: boolean; pdf?: boolean; out?: string; json?: boolean }) =>
      set(import('./commands/report.ts').then((m) => m.reportCommand(args, opts, signal))),
    );
}

function addConformCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('conform')
    .description(
      'run the stack contract conformance suite (functional completeness) against a running stack, or start one from a manifest',
    )
    .option('--edge <url>', 'edge agent base URL of a running stack')
    .option('--hub <url>', 'cloud hub base URL of a running stack')
    .option(
      '--stack <manifest>',
      'start this stack on loopback and test every behaviour, incl. cloud cut and kill -9 (default: the reference stack)',
    )
    .option('--only <ids...>', 'run only these behaviours')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      examples(
        'edgechaos conform',
        'edgechaos conform --stack path/to/my.stack.ts --json',
        'edgechaos conform --edge http://127.0.0.1:7001 --hub http://127.0.0.1:7000',
      ),
    )
    .action((opts: { edge?: string; hub?: string; stack?: string; only?: string[]; json?: boolean }) =>
      set(import('./commands/conform.ts').then((m) => m.conformCommand(opts, signal))),
    );
}

function addBenchCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('bench')
    .description('default kube-scheduler vs the edge scheduler on the embedded control plane')
    .argument('<what>', 'benchmark to run: scheduling')
    .option('--nodes <n>', 'kwok nodes', '20')
    .option('--pods <n>', 'pods per scheduler', '200')
    .option(
      '--qps <n>',
      'client QPS of both schedulers (default 5000, as scheduler_perf: the scheduler, not its client, is the limit)',
    )
    .option('--burst <n>', 'client burst of both schedulers (default: 5000)')
    .option('--rounds <n>', 'measured rounds per scheduler, alternating default/edge', '3')
    .option('--arrival-rate <n>', 'pods/s of the paced (latency) phase (default: 0.8 × qps, at most 100)')
    .option(
      '--paced-pods <n>',
      'pods of the paced phase per round (default: max(1000, pods/10), at most pods)',
    )
    .option('--migration-trials <n>', 'overload-migration trials (0 = skip)', '1')
    .option('--seed <n>', 'seed of the generated topology (node loads, latencies, sites)', '1')
    .option(
      '--out <file>',
      'evidence JSON (default: reports/<run-id>/scheduling.json); the first measured round of each scheduler is recorded beside it: traces/<scheduler>.trace.json',
    )
    .option(
      '--profile',
      'CPU profile (pprof) of each scheduler over its first measured paced phase, next to the evidence: profiles/<scheduler>.cpu.pprof (go tool pprof)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(
        'edgechaos bench scheduling',
        'edgechaos bench scheduling --nodes 100 --pods 2000 --migration-trials 3',
        'edgechaos bench scheduling --nodes 1000 --pods 10000 --rounds 2',
        'edgechaos bench scheduling --qps 500 --burst 1000 --json',
      ),
    )
    .action((what: string, opts: BenchOptions) =>
      set(import('./commands/bench.ts').then((m) => m.benchCommand(what, opts, signal))),
    );
}

function addSubmissionCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('submission')
    .description(
      'check a submission before a tournament: manifest schema, commands, images (loadable, size limits), a quick conformance pass',
    )
    .argument('<action>', 'check')
    .argument('<dir>', 'submission folder (or its stack manifest)')
    .option('--no-conformance', 'skip the quick conformance pass (it starts the stack on loopback)')
    .option('--json', 'print the findings as JSON')
    .addHelpText(
      'after',
      examples(
        'edgechaos submission check submissions/team-a',
        'edgechaos submission check stack/edgechaos.stack.ts --json',
      ),
    )
    .action((action: string, dir: string, opts: { conformance?: boolean; json?: boolean }) =>
      set(import('./commands/submission.ts').then((m) => m.submissionCommand(action, dir, opts, signal))),
    );
}

function addTournamentCommand(program: Command, { set, signal }: Wiring): void {
  program
    .command('tournament')
    .description(
      'run every submission × scenario × repetition with the same seeds (interleaved), then publish the leaderboard',
    )
    .argument('<tournament>', 'tournament file (TypeScript, e.g. tournaments/example.ts)')
    .option(
      '--out <dir>',
      'output dir: runs, state file and leaderboard (default: reports/<tournament name>)',
    )
    .option('--resume', 'continue a tournament that was interrupted or killed (completed runs are kept)')
    .option('--anonymise', 'publish stable pseudonyms instead of submission names')
    .option(
      '--key-file <file>',
      '--anonymise: the private pseudonym key (default: <out>.pseudonym-key, created 0600)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(
        'edgechaos tournament tournaments/example.ts',
        'edgechaos tournament tournaments/example.ts --resume',
        'edgechaos tournament tournaments/example.ts --anonymise --out reports/public',
      ),
    )
    .action((file: string, opts: import('./commands/tournament.ts').TournamentCommandOptions) =>
      set(import('./commands/tournament.ts').then((m) => m.tournamentCommand(file, opts, signal))),
    );
}

function addDoctorCommand(program: Command, { set }: Wiring): void {
  program
    .command('doctor')
    .description(
      'say which tools are present and at which version, and which kernel capabilities faults can use',
    )
    .option('--json', 'print the report as JSON')
    .addHelpText('after', examples('edgechaos doctor', 'edgechaos doctor --json'))
    .action((opts: { json?: boolean }) =>
      set(import('./commands/doctor.ts').then((m) => m.doctorCommand(opts))),
    );
}

function addBootstrapCommand(program: Command, { set }: Wiring): void {
  program
    .command('bootstrap')
    .description('install Debian packages and build the pinned tools into .tools/ (idempotent, cached)')
    .option('--no-apt', 'do not install Debian packages')
    .option('--no-stack', 'do not build the reference stack')
    .option('--kube', 'also build the embedded Kubernetes control plane (scripts/kube; ~6 min cold)')
    .option(
      '--kind',
      'also Kind: kind, a private dockerd and the offline Kind node image (implies --kube; scripts/kind)',
    )
    .option('--json', 'print the steps as JSON')
    .addHelpText(
      'after',
      examples('edgechaos bootstrap', 'edgechaos bootstrap --no-apt --json', 'edgechaos bootstrap --kube'),
    )
    .action((opts: { apt?: boolean; stack?: boolean; kube?: boolean; json?: boolean }) =>
      set(import('./commands/bootstrap.ts').then((m) => m.bootstrapCommand(opts))),
    );
}

function runtimeOption(): Option {
  return new Option(
    '--runtime <runtime>',
    'run the stack from its images as runc containers (oci, the default when the manifest names an image for the role) or as processes; ssh: boards that have runc run the image of their role by default, boards without it fall back to the process (recorded in run.json); oci there refuses a deployment with an edge board lacking runc',
  ).choices(['oci', 'process']);
}
