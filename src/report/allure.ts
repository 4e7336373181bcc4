import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Status, type Label, type Parameter } from 'allure-js-commons';
import type { ExecutorInfo } from 'allure-js-commons/sdk';
import { FileSystemWriter, ReporterRuntime } from 'allure-js-commons/sdk/reporter';
import type { RunRecord } from '../campaign/record.ts';
import type { CheckResult } from '../checks/types.ts';
import { CommandError, ToolMissingError } from '../core/errors.ts';
import type { Sample } from '../load/types.ts';
import { evidenceItem, formatMetric } from './format.ts';
import { provenanceEntries, type ProvenanceEntry } from './provenance.ts';
import { checkStatus, criterionStatus, gateStatus, provenanceOf } from './record-view.ts';

/** Wall-clock ms of the load start: the runner's own origin when samples were kept, else from the phases. */
export function loadStartEpoch(r: RunRecord, samples?: readonly Sample[]): number {
  const start = samples?.find((s): s is Extract<Sample, { type: 'start' }> => s.type === 'start');
  if (start) return Math.round(start.epochMs);
  const first = Math.min(0, ...r.phases.map((p) => p.start));
  return Date.parse(r.startedAt) - first;
}

/** Executor info for Allure from the CI's environment (GitHub Actions, GitLab, Jenkins), else local. */
export function executorInfo(env: NodeJS.ProcessEnv, r: RunRecord): ExecutorInfo {
  if (env['GITHUB_ACTIONS'] === 'true') {
    const base = `${env['GITHUB_SERVER_URL'] ?? 'https://github.com'}/${env['GITHUB_REPOSITORY'] ?? ''}`;
    return {
      name: 'GitHub Actions',
      type: 'github',
      url: base,
      buildOrder: Number(env['GITHUB_RUN_NUMBER'] ?? 0),
      buildName: `${env['GITHUB_WORKFLOW'] ?? 'workflow'} #${env['GITHUB_RUN_NUMBER'] ?? '?'}`,
      buildUrl: `${base}/actions/runs/${env['GITHUB_RUN_ID'] ?? ''}`,
      reportName: `edgechaos ${r.scenario.name}`,
    };
  }
  if (env['GITLAB_CI'] === 'true')
    return {
      name: 'GitLab CI',
      type: 'gitlab',
      url: env['CI_PROJECT_URL'],
      buildOrder: Number(env['CI_PIPELINE_IID'] ?? 0),
      buildName: `${env['CI_JOB_NAME'] ?? 'job'} #${env['CI_PIPELINE_IID'] ?? '?'}`,
      buildUrl: env['CI_JOB_URL'],
      reportName: `edgechaos ${r.scenario.name}`,
    };
  if (env['JENKINS_URL'])
    return {
      name: 'Jenkins',
      type: 'jenkins',
      url: env['JENKINS_URL'],
      buildOrder: Number(env['BUILD_NUMBER'] ?? 0),
      buildName: env['BUILD_TAG'],
      buildUrl: env['BUILD_URL'],
      reportName: `edgechaos ${r.scenario.name}`,
    };
  return { name: 'edgechaos', type: 'local', buildName: r.runId, reportName: `edgechaos ${r.scenario.name}` };
}

/** k6-style text summary of the load phase, attached to the results. */
export function loadSummaryText(r: RunRecord): string {
  const l = r.load.summary;
  if (!l) return 'no load summary: the load phase did not complete\n';
  const row = (name: string, s: typeof l.http): string =>
    `  ${name.padEnd(22)} count=${s.count} ok=${s.ok} failed=${s.failed} rate=${s.rate.toFixed(1)}/s ` +
    `p50=${s.p50.toFixed(1)}ms p95=${s.p95.toFixed(1)}ms p99=${s.p99.toFixed(1)}ms max=${s.max.toFixed(1)}ms`;
  const lines = [
    `script: ${r.load.script}   duration: ${(l.durationMs / 1000).toFixed(1)} s`,
    '',
    row('http_reqs', l.http),
    ...Object.entries(l.byName).map(([k, v]) => row(`{name:${k}}`, v)),
    ...Object.entries(l.byNode).map(([k, v]) => row(`{node:${k}}`, v)),
    '',
    ...Object.entries(l.checks).map(([k, v]) => {
      const total = v.passes + v.fails;
      return `  ${v.fails ? '✗' : '✓'} ${k}: ${total ? ((100 * v.passes) / total).toFixed(2) : '0'}% — ✓ ${v.passes} / ✗ ${v.fails}`;
    }),
    '',
    `  writes: ok=${l.writes.ok} failed=${l.writes.failed} indeterminate=${l.writes.indeterminate}   dropped iterations: ${l.dropped}`,
  ];
  if (l.runnerCpuSeconds !== undefined) lines.push(`  load runner CPU: ${l.runnerCpuSeconds.toFixed(2)} s`);
  return `${lines.join('\n')}\n`;
}

export function timelineText(r: RunRecord): string {
  return (
    r.timeline
      .map(
        (e) =>
          `${(e.t / 1000).toFixed(3).padStart(9)} s  ${e.kind.padEnd(14)} ${(e.node ?? '').padEnd(8)} ${e.text}`,
      )
      .join('\n') + '\n'
  );
}

function statusOf(c: CheckResult): Status {
  const s = checkStatus(c);
  // Not provided scores zero: a failure of the submission, not something the target could not measure.
  return s === 'passed'
    ? Status.PASSED
    : s === 'failed' || s === 'not-provided'
      ? Status.FAILED
      : Status.SKIPPED;
}

export interface AllureOptions {
  /** Load samples, to align times with the runner's own clock origin. */
  samples?: readonly Sample[];
  env?: NodeJS.ProcessEnv;
}

/** What the results of one run share: the runtime, the time origin, parameters, labels, attachments. */
interface AllureRun {
  readonly r: RunRecord;
  readonly runtime: ReporterRuntime;
  /** Epoch ms of a record time (ms from the load start). */
  readonly at: (t: number) => number;
  /** The end of the last phase (record time). */
  readonly end: number;
  readonly parameters: readonly Parameter[];
  readonly summary: Buffer;
  readonly timeline: Buffer;
}

function newRuntime(
  resultsDir: string,
  r: RunRecord,
  provenance: readonly ProvenanceEntry[],
): ReporterRuntime {
  return new ReporterRuntime({
    writer: new FileSystemWriter({ resultsDir }),
    environmentInfo: {
      scenario: r.scenario.name,
      'scenario.file': r.scenario.file,
      seed: String(r.seed),
      target: r.target.kind,
      stack: `${r.stack.name} ${r.stack.version}`,
      rubric: `${r.rubric.name} v${r.rubric.version}`,
      nodes: r.nodes.map((n) => `${n.name}(${n.profile})`).join(' '),
      'run.id': r.runId,
      'node.version': process.version,
      ...Object.fromEntries(provenance.map((e) => [`provenance.${e.key}`, e.value])),
    },
    categories: [
      { name: 'Lost or duplicated writes', messageRegex: '.*\\b([1-9]\\d*) (lost|duplicated).*' },
      { name: 'Edge crashed or restarted', messageRegex: '.*[1-9]\\d* unplanned restart.*' },
      { name: 'Check failed', matchedStatuses: [Status.FAILED] },
      { name: 'Not measured on this target', matchedStatuses: [Status.SKIPPED] },
    ],
  });
}

function labelsOf(r: RunRecord, extra: Label[]): Label[] {
  return [
    { name: 'parentSuite', value: 'edgechaos' },
    { name: 'suite', value: r.scenario.name },
    { name: 'host', value: r.target.kind },
    { name: 'tag', value: r.stack.name },
    { name: 'framework', value: 'edgechaos' },
    { name: 'language', value: 'typescript' },
    ...extra,
  ];
}

/** The load phase's children: the faults and the events, as timed steps. */
function loadPhaseSteps(a: AllureRun, root: string, step: string, phaseEnd: number): void {
  const { r, runtime, at } = a;
  for (const f of r.faults) {
    const fs = runtime.startStep(root, step, {
      name: `fault ${f.id}: ${f.kind} on ${f.node}`,
      start: at(f.start),
      parameters: Object.entries(f.params).map(([name, v]) => ({
        name,
        value: typeof v === 'string' ? v : JSON.stringify(v),
      })),
    });
    if (!fs) continue;
    runtime.updateStep(fs, (s) => {
      s.status = f.error ? Status.BROKEN : Status.PASSED;
      if (f.error) s.statusDetails = { ...s.statusDetails, message: f.error };
    });
    runtime.stopStep(fs, { stop: at(f.end ?? phaseEnd) });
  }
  for (const e of r.timeline.filter((x) => x.kind !== 'phase' && !x.kind.startsWith('fault'))) {
    const es = runtime.startStep(root, step, { name: `${e.kind}: ${e.text}`, start: at(e.t) });
    if (!es) continue;
    runtime.updateStep(es, (s) => {
      s.status = e.kind === 'process-exit' ? Status.BROKEN : Status.PASSED;
    });
    runtime.stopStep(es, { stop: at(e.t) });
  }
  runtime.writeAttachment(root, step, 'load summary (k6 style)', a.summary, {
    contentType: 'text/plain',
  });
}

/** Phases (with faults and events under "load") as timed steps of a result. */
function campaignSteps(a: AllureRun, root: string, onChecks?: (step: string | undefined) => void): void {
  const { r, runtime, at } = a;
  for (const p of r.phases) {
    const step = runtime.startStep(root, undefined, { name: `phase: ${p.name}`, start: at(p.start) });
    if (!step) continue;
    if (p.name === 'load') loadPhaseSteps(a, root, step, p.end);
    if (p.name === 'checks') onChecks?.(step);
    runtime.updateStep(step, (s) => {
      s.status ??= Status.PASSED;
    });
    runtime.stopStep(step, { stop: at(p.end) });
  }
  runtime.writeAttachment(root, undefined, 'timeline', a.timeline, { contentType: 'text/plain' });
}

/** A check's evidence: all of it as JSON, multi-line texts and (when failed) item lists as text. */
function evidenceAttachments(a: AllureRun, root: string, c: CheckResult): void {
  const { runtime } = a;
  runtime.writeAttachment(
    root,
    undefined,
    `evidence: ${c.id}`,
    Buffer.from(JSON.stringify(c.evidence, null, 2)),
    {
      contentType: 'application/json',
      fileExtension: 'json',
    },
  );
  for (const [k, v] of Object.entries(c.evidence)) {
    if (typeof v === 'string' && v.includes('\n'))
      runtime.writeAttachment(root, undefined, `${c.id}: ${k}`, Buffer.from(v), {
        contentType: 'text/plain',
      });
    else if (Array.isArray(v) && v.length > 0 && c.status === 'failed')
      runtime.writeAttachment(
        root,
        undefined,
        `${c.id}: ${k} (${v.length})`,
        Buffer.from((v as unknown[]).map(evidenceItem).join('\n') + '\n'),
        { contentType: 'text/plain' },
      );
  }
}

/** One result per check: the campaign's steps, the verdict under "checks", the evidence. */
function writeCheckResult(a: AllureRun, c: CheckResult): void {
  const { r, runtime, at, end } = a;
  const root = runtime.startTest(
    {
      name: c.title,
      fullName: `edgechaos.${r.scenario.name}.${c.id}`,
      testCaseId: `edgechaos.check.${c.id}`,
      historyId: `edgechaos.${r.scenario.name}.${c.id}`,
      description: c.summary,
      labels: labelsOf(r, [
        { name: 'feature', value: 'checks' },
        { name: 'story', value: c.id },
      ]),
      parameters: [...a.parameters],
      start: at(Math.min(0, ...r.phases.map((p) => p.start))),
    },
    [],
  );
  campaignSteps(a, root, (checksStep) => {
    const vs = runtime.startStep(root, checksStep, {
      name: `verdict: ${c.status} — ${c.summary}`,
      start: at(r.phases.find((p) => p.name === 'checks')?.start ?? end),
      parameters: Object.entries(c.metrics).map(([k, m]) => ({ name: k, value: formatMetric(k, m) })),
    });
    if (!vs) return;
    runtime.updateStep(vs, (s) => {
      s.status = statusOf(c);
    });
    runtime.stopStep(vs, { stop: at(r.phases.find((p) => p.name === 'checks')?.end ?? end) });
  });
  evidenceAttachments(a, root, c);
  runtime.updateTest(root, (t) => {
    t.status = statusOf(c);
    if (c.status !== 'passed') t.statusDetails = { ...t.statusDetails, message: c.summary };
  });
  runtime.stopTest(root, { stop: at(end) });
  runtime.writeTest(root);
}

type Criterion = RunRecord['score']['criteria'][number];

/** A rubric criterion as a step: skipped when not measured, failed on a failed gate or not provided. */
function criterionStep(a: AllureRun, root: string, c: Criterion): void {
  const { runtime } = a;
  const st = runtime.startStep(root, undefined, {
    name: `${c.title}: ${c.points === undefined ? 'not measured' : `${c.points.toFixed(2)} / ${c.weight}`}`,
    parameters: c.terms.map((t) => ({
      name: t.metric,
      value: t.measured ? formatMetric(t.metric, t.measured) : 'not measured',
    })),
  });
  if (!st) return;
  const failed = c.gates.filter((g) => gateStatus(g) === 'failed');
  runtime.updateStep(st, (x) => {
    x.status =
      c.points === undefined
        ? Status.SKIPPED
        : failed.length || criterionStatus(c) === 'not-provided'
          ? Status.FAILED
          : Status.PASSED;
    if (failed.length)
      x.statusDetails = {
        ...x.statusDetails,
        message: failed
          .map((g) => `${g.gate.metric} ${g.gate.op} ${g.gate.value}: ${g.gate.because}`)
          .join('; '),
      };
  });
  runtime.stopStep(st);
}

/** The score as one result: a step per criterion, failed when a rubric gate failed. */
function writeScoreResult(a: AllureRun): void {
  const { r, runtime, at, end } = a;
  const s = r.score;
  const root = runtime.startTest(
    {
      name: `Score: ${s.total.toFixed(1)} / ${s.possible} (${s.percent.toFixed(1)}%)`,
      fullName: `edgechaos.${r.scenario.name}.score`,
      testCaseId: 'edgechaos.score',
      historyId: `edgechaos.${r.scenario.name}.score`,
      description: `Rubric ${s.rubric.name} v${s.rubric.version}: points over the criteria measured on this target.`,
      labels: labelsOf(r, [{ name: 'feature', value: 'score' }]),
      parameters: [...a.parameters],
      start: at(r.phases.find((p) => p.name === 'checks')?.start ?? end),
    },
    [],
  );
  for (const c of s.criteria) criterionStep(a, root, c);
  runtime.updateTest(root, (t) => {
    t.status = s.gatesPassed ? Status.PASSED : Status.FAILED;
    if (!s.gatesPassed) t.statusDetails = { ...t.statusDetails, message: s.failedGates.join('\n') };
  });
  runtime.stopTest(root, { stop: at(end) });
  runtime.writeTest(root);
}

/**
 * Write `<runDir>/allure-results` (replacing an earlier one): one result per check with the campaign's
 * phases and faults as timed steps, its parameters, the load summary, timeline and evidence as
 * attachments; plus a "score" result with a step per rubric criterion; environment, executor, categories.
 */
export function writeAllureResults(runDir: string, r: RunRecord, opts: AllureOptions = {}): string {
  const resultsDir = join(runDir, 'allure-results');
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  const env = opts.env ?? process.env;
  const prov = provenanceOf(r);
  const provenance = prov ? provenanceEntries(prov) : [];
  const runtime = newRuntime(resultsDir, r, provenance);
  const t0 = loadStartEpoch(r, opts.samples);
  const a: AllureRun = {
    r,
    runtime,
    at: (t) => Math.round(t0 + t),
    end: Math.max(...r.phases.map((p) => p.end), 0),
    parameters: [
      { name: 'scenario', value: r.scenario.name },
      { name: 'seed', value: String(r.seed) },
      { name: 'target', value: r.target.kind },
      { name: 'stack', value: `${r.stack.name}@${r.stack.version}` },
      { name: 'rubric', value: `${r.rubric.name}@${r.rubric.version}` },
      // Provenance (when the record has it): excluded from Allure's history key, so reruns stay one history.
      ...provenance.map((e) => ({ name: e.label, value: e.value, excluded: true })),
    ],
    summary: Buffer.from(loadSummaryText(r)),
    timeline: Buffer.from(timelineText(r)),
  };
  for (const c of r.checks) writeCheckResult(a, c);
  writeScoreResult(a);
  runtime.writeEnvironmentInfo();
  runtime.writeCategoriesDefinitions();
  writeFileSync(join(resultsDir, 'executor.json'), JSON.stringify(executorInfo(env, r), null, 2));
  return resultsDir;
}

function allureCli(): string {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('allure')), '..', 'cli.js');
  } catch (err) {
    throw new ToolMissingError('allure (npm)', 'run `npm install` in the edgechaos checkout', { cause: err });
  }
}

/** Remove the analytics tag Allure's HTML templates embed unconditionally: a report must not phone home. */
export function stripAnalytics(html: string): string {
  return html
    .replace(/<script[^>]*src="https:\/\/www\.googletagmanager\.com\/[^"]*"[^>]*><\/script>\s*/g, '')
    .replace(/<script>(?:(?!<\/script>)[\s\S])*?gtag\((?:(?!<\/script>)[\s\S])*?<\/script>\s*/g, '');
}

/**
 * Generate the Allure 3 HTML report from `<runDir>/allure-results` into `<runDir>/allure-report`: one
 * self-contained index.html (Allure's "awesome" plugin in single-file mode, so it opens from disk),
 * generated offline, with Allure's analytics tag removed.
 */
export async function generateAllureHtml(
  runDir: string,
  r: RunRecord,
  signal?: AbortSignal,
): Promise<string> {
  const out = join(runDir, 'allure-report');
  rmSync(out, { recursive: true, force: true });
  const tmp = mkdtempSync(join(tmpdir(), 'edgechaos-allure-'));
  try {
    const config = join(tmp, 'allurerc.json');
    writeFileSync(
      config,
      JSON.stringify({
        name: `edgechaos ${r.scenario.name} ${r.runId}`,
        plugins: {
          awesome: {
            options: {
              singleFile: true,
              reportName: `edgechaos ${r.scenario.name} · ${r.stack.name} ${r.stack.version} · ${r.runId}`,
              groupBy: ['parentSuite', 'suite', 'feature'],
            },
          },
        },
      }),
    );
    const argv = [
      process.execPath,
      allureCli(),
      'generate',
      join(runDir, 'allure-results'),
      '--config',
      config,
      '--output',
      out,
      '--cwd',
      tmp,
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(
        argv[0]!,
        argv.slice(1),
        {
          signal,
          maxBuffer: 16 * 1024 * 1024,
          env: { ...process.env, NO_COLOR: '1', ALLURE_NO_ANALYTICS: 'true' },
        },
        (err, _stdout, stderr) =>
          err
            ? reject(
                new CommandError(argv, typeof err.code === 'number' ? err.code : null, stderr, {
                  cause: err,
                }),
              )
            : resolve(),
      );
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const index = join(out, 'index.html');
  if (existsSync(index)) writeFileSync(index, stripAnalytics(readFileSync(index, 'utf8')));
  return out;
}
