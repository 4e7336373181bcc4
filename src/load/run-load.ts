import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnRegistered, type CleanupRegistry } from '../core/cleanup/registry.ts';
import { TargetError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';
import type { EngineResult } from './engine.ts';
import type { RunnerState } from './merge.ts';
import { readSamples, summarizeFile, type LoadSummary } from './summary.ts';
import type { MetricSummary, Sample, SummaryData, ThresholdResult } from './types.ts';

export interface RunLoadOptions {
  /** TypeScript load script (scenarios/load/*.ts), k6 style. */
  script: string;
  /** Where samples.jsonl, load-result.json and the runner's log go. */
  outDir: string;
  /** The run's env (k6's __ENV): handed over in a 0600 file the runner deletes once read. */
  env: Record<string, string>;
  registry: CleanupRegistry;
  signal?: AbortSignal;
  /** Also return every sample in memory (default true; the campaign's checks read them). */
  keepSamples?: boolean;
  /** Run only this execution segment (k6 syntax, `i/N:(i+1)/N`): one of `--load-replicas N`. */
  executionSegment?: string;
}

export interface LoadResult {
  samplesFile: string;
  /** Every sample (empty when keepSamples is false: then stream `samplesFile` with forEachSample). */
  samples: Sample[];
  summary: LoadSummary;
  /** Process id of the load runner (for measuring harness overhead separately). */
  pid: number;
  /** Every threshold of the script's options, as evaluated at the end (or when it aborted the run). */
  thresholds: ThresholdResult[];
  /** True when a threshold failed: `edgechaos run` then exits 99, as k6 does. */
  thresholdsFailed: boolean;
  /** Why the run stopped early (a threshold with abortOnFail, exec.test.abort()), if it did. */
  aborted: string | undefined;
  /** k6's end-of-test metrics (http_req_duration, http_req_failed, checks, iterations, custom ones, ...). */
  metrics: Record<string, MetricSummary>;
  /** The runner's aggregates (histograms included), to merge the runners of `--load-replicas`. */
  state?: RunnerState;
  /** k6's whole end-of-test data (what handleSummary received), or undefined if the runner was killed. */
  k6Summary: SummaryData | undefined;
  /** The runner's exit code: 0, or 99 when a threshold failed. */
  exitCode: number;
}

/** A started load runner: wait for it, or stop it early (the samples so far are kept). */
export interface RunningLoad {
  pid: number;
  done: Promise<LoadResult>;
  stop(): Promise<void>;
}

/**
 * Start the load runner as its own process (like k6 beside the harness): it runs the TypeScript
 * script through tsx and streams samples to JSON lines, summarized (streaming) when it ends.
 */
export async function startLoad(opts: RunLoadOptions): Promise<RunningLoad> {
  mkdirSync(opts.outDir, { recursive: true });
  const samplesFile = join(opts.outDir, 'samples.jsonl');
  const summaryFile = join(opts.outDir, 'load-result.json');
  rmSync(samplesFile, { force: true });
  rmSync(summaryFile, { force: true });
  // Never on the command line: /proc/<pid>/cmdline is readable by every local user.
  const envFile = join(opts.outDir, `.env-${process.pid}-${Date.now()}.json`);
  writeFileSync(envFile, JSON.stringify(opts.env), { mode: 0o600 });
  const argv = [
    process.execPath,
    '--import',
    'tsx',
    join(repoRoot, 'src', 'load', 'runner.ts'),
    ...(opts.executionSegment ? ['--execution-segment', opts.executionSegment] : []),
    resolve(opts.script),
    resolve(opts.outDir),
    envFile,
  ];
  let spawned;
  try {
    spawned = await spawnRegistered(opts.registry, `load runner ${opts.script}`, argv, {
      logFile: join(opts.outDir, 'load-runner.log'),
      cwd: repoRoot,
    });
  } catch (e) {
    rmSync(envFile, { force: true });
    throw e;
  }
  const { proc, handle } = spawned;
  const onAbort = (): void => void proc.stop(15_000);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const done = proc.exited.then((exit) => {
    opts.signal?.removeEventListener('abort', onAbort);
    rmSync(envFile, { force: true });
    handle.forget();
    const code = exit.code ?? -1;
    if (code !== 0 && code !== 99 && exit.signal !== 'SIGTERM') {
      throw new TargetError(`load runner exited with ${exit.code ?? exit.signal}; see ${proc.logFile}`);
    }
    return readLoadResult(opts.outDir, proc.pid, code, opts.keepSamples);
  });
  return { pid: proc.pid, done, stop: () => proc.stop(15_000) };
}

/**
 * A runner's result from what it left in `outDir` (samples.jsonl, load-result.json): a runner
 * process beside the harness, or a pod whose stream the harness wrote there.
 */
export function readLoadResult(
  outDir: string,
  pid: number,
  exitCode: number,
  keepSamples?: boolean,
): LoadResult {
  const samplesFile = join(outDir, 'samples.jsonl');
  const summaryFile = join(outDir, 'load-result.json');
  const engine = existsSync(summaryFile)
    ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as EngineResult)
    : undefined;
  const thresholds = engine?.thresholds ?? [];
  return {
    samplesFile,
    samples: keepSamples === false || !existsSync(samplesFile) ? [] : readSamples(samplesFile),
    summary: existsSync(samplesFile) ? summarizeFile(samplesFile) : summarizeFile('/dev/null'),
    pid,
    thresholds,
    thresholdsFailed: thresholds.some((t) => !t.ok),
    aborted: engine?.aborted,
    metrics: engine?.data.metrics ?? {},
    k6Summary: engine?.data,
    ...(engine?.state ? { state: engine.state } : {}),
    exitCode,
  };
}

export async function runLoad(opts: RunLoadOptions): Promise<LoadResult> {
  return (await startLoad(opts)).done;
}

/**
 * The runner's own t = 0 (epoch ms of its 'start' sample, the first line of its samples file) once
 * one of `files` holds it; undefined before. For `--load-replicas`, the segments' files.
 */
export function runnerStartEpoch(files: readonly string[]): number | undefined {
  for (const f of files) {
    let fd: number;
    try {
      fd = openSync(f, 'r');
    } catch {
      continue;
    }
    try {
      const buf = Buffer.alloc(4096);
      const line = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString();
      const nl = line.indexOf('\n');
      if (nl < 0) continue;
      const s = JSON.parse(line.slice(0, nl)) as Sample;
      if (s.type === 'start') return s.epochMs;
    } finally {
      closeSync(fd);
    }
  }
  return undefined;
}
