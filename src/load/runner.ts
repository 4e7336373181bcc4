/**
 * The load runner process:
 * `node --import tsx src/load/runner.ts [--execution-segment from:to] <script.ts> <outDir> [env-file]`.
 * In a pod (`--load-replicas` on a cluster, the load runner image): `node /app/runner.mjs --stream
 * --job-segment /script/script.mjs /out`: `--job-segment` takes the segment from the Indexed Job
 * (JOB_COMPLETION_INDEX of LOAD_REPLICAS), `--stream` writes the samples and then the result on
 * stdout (see stream.ts) instead of files; the env is the container's.
 * `--execution-segment` (k6's syntax, e.g. 1/3:2/3) runs only that slice of every executor; the N
 * equal segments i/N:(i+1)/N together run exactly the unsegmented test (`--load-replicas N`).
 * The run's env comes in a 0600 JSON file that is deleted as soon as it is read (never on the command
 * line, which any local user can read in /proc). Writes <outDir>/samples.jsonl while it runs and
 * <outDir>/load-result.json at the end (thresholds, k6's summary data). Exit codes as k6: 0 pass, 99 a threshold failed, 107 the script
 * threw in setup; 2 the script's options are invalid.
 * SIGTERM/SIGINT: stop starting iterations, interrupt in-flight ones, run teardown, exit as above.
 */
import { readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgechaosError } from '../core/errors.ts';
import { prepareRuntime, resetRuntime, runScript, type EngineResult } from './engine.ts';
import { runtime } from './runtime.ts';
import { parseSegment, type Segment } from './segment.ts';
import { jobSegment, trailerLines } from './stream.ts';
import type { LoadScript } from './types.ts';

const args = process.argv.slice(2);
const flag = (name: string): boolean => {
  const i = args.indexOf(name);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const stream = flag('--stream');
let segment: Segment | undefined;
const at = args.indexOf('--execution-segment');
try {
  if (at >= 0) segment = parseSegment(args.splice(at, 2)[1] ?? '', '--execution-segment');
  if (flag('--job-segment'))
    segment = parseSegment(
      jobSegment(process.env['JOB_COMPLETION_INDEX'], process.env['LOAD_REPLICAS']),
      '--job-segment',
    );
} catch (e) {
  process.stderr.write(`${e instanceof EdgechaosError ? e.describe() : String(e)}\n`);
  process.exit(2);
}
const [scriptArg, outDir, envFile] = args;
if (!scriptArg || !outDir) {
  process.stderr.write(
    'usage: runner.ts [--stream] [--execution-segment from:to | --job-segment] <script> <outDir> [env.json]\n',
  );
  process.exit(2);
}
let env: Record<string, string> = {};
if (envFile) {
  env = JSON.parse(readFileSync(envFile, 'utf8')) as Record<string, string>;
  rmSync(envFile, { force: true });
}
// The script's top level (its options) may read the run's env, as k6's __ENV (or process.env).
Object.assign(process.env, env);
const stop = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => stop.abort());

const file = resolve(scriptArg);
let code = 0;
let result: EngineResult | undefined;
try {
  resetRuntime();
  prepareRuntime(env);
  const mod = (await import(pathToFileURL(file).href)) as LoadScript;
  const res = await runScript(mod, {
    file: scriptArg,
    samplesFile: stream ? '/dev/stdout' : join(outDir, 'samples.jsonl'),
    outDir,
    env,
    signal: stop.signal,
    ...(segment ? { segment } : {}),
  });
  result = res;
  if (!stream) writeFileSync(join(outDir, 'load-result.json'), JSON.stringify(res));
  for (const t of res.thresholds)
    process.stderr.write(
      `threshold ${t.ok ? 'ok  ' : 'FAIL'} ${t.metric}: ${t.expression} (value ${t.value ?? 'no data'})\n`,
    );
  code = res.thresholds.some((t) => !t.ok) ? 99 : 0;
} catch (e) {
  if (e instanceof EdgechaosError) {
    process.stderr.write(`${e.describe()}\n`);
    code = 2;
  } else {
    process.stderr.write(`load script failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    code = 107;
  }
}
if (stream) {
  const lines = trailerLines({ samples: runtime.out.lines, exitCode: code, ...(result ? { result } : {}) });
  for (const l of lines) writeSync(1, `${l}\n`);
}
process.exit(code);
