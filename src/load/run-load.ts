import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spawnRegistered, type CleanupRegistry } from '../core/cleanup/registry.ts';
import { TargetError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';
import { readSamples, summarize, type LoadSummary } from './summary.ts';
import type { Sample } from './types.ts';

export interface RunLoadOptions {
  /** TypeScript load script (scenarios/load/*.ts). */
  script: string;
  /** Where samples.jsonl and the runner's log go. */
  outDir: string;
  env: Record<string, string>;
  registry: CleanupRegistry;
  signal?: AbortSignal;
}

export interface LoadResult {
  samplesFile: string;
  samples: Sample[];
  summary: LoadSummary;
  /** Process id of the load runner (for measuring harness overhead separately). */
  pid: number;
}

/** A started load runner: wait for it, or stop it early (the samples so far are kept). */
export interface RunningLoad {
  pid: number;
  done: Promise<LoadResult>;
  stop(): Promise<void>;
}

/**
 * Start the load runner as its own process (like k6 beside the harness): it runs the TypeScript
 * script through tsx and streams samples to JSON lines, which are parsed when it ends.
 */
export async function startLoad(opts: RunLoadOptions): Promise<RunningLoad> {
  mkdirSync(opts.outDir, { recursive: true });
  const samplesFile = join(opts.outDir, 'samples.jsonl');
  const argv = [
    process.execPath,
    '--import',
    'tsx',
    join(repoRoot, 'src', 'load', 'runner.ts'),
    resolve(opts.script),
    samplesFile,
    JSON.stringify(opts.env),
  ];
  const { proc, handle } = await spawnRegistered(opts.registry, `load runner ${opts.script}`, argv, {
    logFile: join(opts.outDir, 'load-runner.log'),
    cwd: repoRoot,
  });
  const onAbort = (): void => void proc.stop(15_000);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const done = proc.exited.then((exit) => {
    opts.signal?.removeEventListener('abort', onAbort);
    handle.forget();
    if (exit.code !== 0 && exit.signal !== 'SIGTERM') {
      throw new TargetError(`load runner exited with ${exit.code ?? exit.signal}; see ${proc.logFile}`);
    }
    const samples = readSamples(samplesFile);
    return { samplesFile, samples, summary: summarize(samples), pid: proc.pid };
  });
  return { pid: proc.pid, done, stop: () => proc.stop(15_000) };
}

export async function runLoad(opts: RunLoadOptions): Promise<LoadResult> {
  return (await startLoad(opts)).done;
}
