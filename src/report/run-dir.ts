import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { RunRecord } from '../campaign/record.ts';
import { ScenarioError } from '../core/errors.ts';
import { parseSamples } from '../load/summary.ts';
import type { Sample } from '../load/types.ts';
import { fieldPath } from '../config/load.ts';

const num = z.number();
const metric = z.object({
  value: num,
  unit: z.string(),
  source: z.string(),
  spread: z.object({ min: num, max: num, n: num }).optional(),
});
const metrics = z.record(z.string(), metric);
const point = z.object({ t: num, v: num });
const seriesMap = z.record(z.string(), z.array(point));
const latency = z.object({
  count: num,
  ok: num,
  failed: num,
  rate: num,
  p50: num,
  p95: num,
  p99: num,
  max: num,
});
const gate = z.object({
  metric: z.string(),
  op: z.enum(['<=', '>=', '==', '<', '>']),
  value: num,
  because: z.string(),
});

/** The shape of run.json that the reports rely on (unknown extra fields are allowed and kept). */
export const runRecordSchema = z.object({
  schema: z.literal('edgechaos.run/v1'),
  runId: z.string().min(1),
  scenario: z.object({ name: z.string(), file: z.string(), description: z.string() }),
  seed: num,
  target: z.object({ kind: z.string() }),
  stack: z.object({ name: z.string(), version: z.string(), file: z.string() }),
  rubric: z.object({ file: z.string(), name: z.string(), version: z.string() }),
  startedAt: z.string(),
  endedAt: z.string(),
  nodes: z.array(z.object({ name: z.string(), role: z.enum(['edge', 'cloud']), profile: z.string() })),
  phases: z.array(z.object({ name: z.string(), start: num, end: num })),
  timeline: z.array(
    z.object({
      t: num,
      kind: z.enum([
        'phase',
        'fault-on',
        'fault-off',
        'process-exit',
        'process-start',
        'config-publish',
        'note',
      ]),
      node: z.string().optional(),
      text: z.string(),
    }),
  ),
  faults: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      node: z.string(),
      params: z.record(z.string(), z.unknown()),
      start: num,
      end: num.optional(),
      error: z.string().optional(),
    }),
  ),
  load: z.object({
    script: z.string(),
    summary: z
      .object({
        durationMs: num,
        http: latency,
        byName: z.record(z.string(), latency),
        byNode: z.record(z.string(), latency),
        checks: z.record(z.string(), z.object({ passes: num, fails: num })),
        dropped: num,
        writes: z.object({ ok: num, failed: num, indeterminate: num }),
        series: z.array(z.object({ t: num, requests: num, errors: num, p99: num })),
        runnerCpuSeconds: num.optional(),
      })
      .optional(),
    samplesFile: z.string().optional(),
  }),
  series: z.object({ pending: seriesMap, cpu: seriesMap, memory: seriesMap }),
  checks: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      // 'not-provided': the submission left the evidence out (scores zero), newer harnesses.
      status: z.enum(['passed', 'failed', 'not-measured', 'not-provided']),
      summary: z.string(),
      metrics,
      evidence: z.record(z.string(), z.unknown()),
    }),
  ),
  metrics,
  score: z.object({
    rubric: z.object({ name: z.string(), version: z.string() }),
    criteria: z.array(
      z.object({
        id: z.string(),
        title: z.string(),
        area: z.enum(['lightweight-images', 'edge-cloud-collaboration', 'dynamic-scheduling']),
        weight: num,
        points: num.optional(),
        status: z.enum(['scored', 'not-measured', 'not-provided']),
        terms: z.array(
          z.object({ metric: z.string(), measured: metric.optional(), normalized: num.optional() }),
        ),
        gates: z.array(
          z.object({
            gate,
            measured: num.optional(),
            passed: z.boolean(),
            status: z.enum(['passed', 'failed', 'not-measured']).optional(),
          }),
        ),
      }),
    ),
    total: num,
    possible: num,
    percent: num,
    gatesPassed: z.boolean(),
    failedGates: z.array(z.string()),
  }),
  harness: z.object({ cpuSeconds: num, wallSeconds: num, shareOfOneCore: num }).nullish(),
  gatesPassed: z.boolean(),
  error: z.string().optional(),
});

/** Validate a parsed run.json; every problem names the file and the field. */
export function parseRunRecord(value: unknown, file: string): RunRecord {
  const r = runRecordSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = fieldPath(issue.path);
    const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : '';
    throw new ScenarioError(`invalid run record: ${issue.message}${more}`, {
      file,
      ...(field ? { field } : {}),
    });
  }
  // The validated JSON itself (not zod's copy), so fields added by newer harness versions survive.
  return value as RunRecord;
}

/** Read and validate `<runDir>/run.json`: a missing, corrupt or invalid file is one clear error naming it. */
export function readRunDir(runDir: string): RunRecord {
  const file = join(resolve(runDir), 'run.json');
  if (!existsSync(file))
    throw new ScenarioError('no run.json here: not a run directory (runs are written under reports/)', {
      file,
    });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`cannot read run.json: ${(err as Error).message}`, { file, cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`run.json is not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
  return parseRunRecord(value, file);
}

/** The load samples of a run (load/samples.jsonl), or undefined when the run kept none. */
export function readRunSamples(runDir: string, record: RunRecord): Sample[] | undefined {
  const rel = record.load.samplesFile;
  if (!rel) return undefined;
  const file = resolve(runDir, rel);
  if (!existsSync(file)) return undefined;
  return parseSamples(readFileSync(file, 'utf8'));
}
