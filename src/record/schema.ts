import { z } from 'zod';
import { checkResultSchema } from '../checks/types.ts';
import { metricsSchema, rubricSchema, scoreResultSchema } from '../scoring/types.ts';

/**
 * The run record (run.json): one zod schema, and the `RunRecord` type inferred from it. The campaign
 * writes it, `edgechaos score` and the reports read it through `loadRunRecord` (src/record/load.ts).
 */

export const RUN_RECORD_SCHEMA = 'edgechaos.run/v1';

const num = z.number();

export const seriesPointSchema = z.object({ t: num, v: num });
export type SeriesPoint = z.infer<typeof seriesPointSchema>;
const seriesMap = z.record(z.string(), z.array(seriesPointSchema));

export const latencyStatsSchema = z.object({
  count: num,
  ok: num,
  failed: num,
  /** requests per second over the window the samples span */
  rate: num,
  p50: num,
  p95: num,
  p99: num,
  max: num,
});

export const timelineEventSchema = z.object({
  /** ms since the start of the load phase (negative during deploy/warm-up) */
  t: num,
  kind: z.enum(['phase', 'fault-on', 'fault-off', 'process-exit', 'process-start', 'config-publish', 'note']),
  node: z.string().optional(),
  text: z.string(),
});
export type TimelineEvent = z.infer<typeof timelineEventSchema>;

export const faultRecordSchema = z.object({
  id: z.string(),
  kind: z.string(),
  node: z.string(),
  params: z.record(z.string(), z.unknown()),
  /** ms since load start */
  start: num,
  end: num.optional(),
  error: z.string().optional(),
});
export type FaultRecord = z.infer<typeof faultRecordSchema>;

export const loadWindowSchema = z.object({
  name: z.string(),
  node: z.string().optional(),
  /** ms since load start */
  start: num,
  end: num,
  stats: latencyStatsSchema,
});
export type LoadWindow = z.infer<typeof loadWindowSchema>;

export const loadSummarySchema = z.object({
  durationMs: num,
  http: latencyStatsSchema,
  byName: z.record(z.string(), latencyStatsSchema),
  byNode: z.record(z.string(), latencyStatsSchema),
  checks: z.record(z.string(), z.object({ passes: num, fails: num })),
  dropped: num,
  writes: z.object({ ok: num, failed: num, indeterminate: num }),
  series: z.array(z.object({ t: num, requests: num, errors: num, p99: num })),
  runnerCpuSeconds: num.optional(),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest');

/** Where a score came from: enough to rerun exactly what was run, and to tell two runs apart. */
export const provenanceSchema = z.object({
  /** package.json version of the harness. */
  harnessVersion: z.string(),
  /** `git rev-parse HEAD` of the harness checkout (+ "-dirty" when it had local changes); absent outside git. */
  gitCommit: z.string().optional(),
  rubric: z.object({ name: z.string(), version: z.string(), sha256 }),
  /** sha256 of the scenario file's bytes. */
  scenarioSha256: sha256,
  stack: z.object({
    name: z.string(),
    version: z.string(),
    manifestSha256: sha256,
    /** Each image archive the manifest names, with the sha256 of its bytes. */
    images: z.array(z.object({ file: z.string(), digest: z.string() })),
  }),
  target: z.string(),
  host: z.object({ kernel: z.string(), cpuModel: z.string(), cores: num }),
  /** Node.js version (process.version). */
  node: z.string(),
  /** `go version` of the toolchain that built the stack, when one was found. */
  go: z.string().optional(),
  seed: num,
  /** Competitor label (--label, default the stack's name). */
  label: z.string(),
});
export type Provenance = z.infer<typeof provenanceSchema>;

/** Everything about one campaign run: `edgechaos score` and `edgechaos report` work from this alone. */
export const runRecordSchema = z.looseObject({
  schema: z.literal(RUN_RECORD_SCHEMA),
  runId: z.string().min(1),
  scenario: z.object({ name: z.string(), file: z.string(), description: z.string() }),
  seed: num,
  target: z.object({ kind: z.string() }),
  stack: z.object({ name: z.string(), version: z.string(), file: z.string() }),
  /**
   * The rubric the run was scored with. `data` is the rubric itself (criteria, anchors, weights,
   * gates): `edgechaos score` re-scores with it and never loads (executes) `file`.
   */
  rubric: z.object({
    file: z.string(),
    name: z.string(),
    version: z.string(),
    data: rubricSchema.optional(),
  }),
  provenance: provenanceSchema.optional(),
  startedAt: z.string(),
  endedAt: z.string(),
  nodes: z.array(z.object({ name: z.string(), role: z.enum(['edge', 'cloud']), profile: z.string() })),
  phases: z.array(z.object({ name: z.string(), start: num, end: num })),
  timeline: z.array(timelineEventSchema),
  faults: z.array(faultRecordSchema),
  load: z.object({
    script: z.string(),
    summary: loadSummarySchema.optional(),
    samplesFile: z.string().optional(),
    /** Latency and errors per window: the baseline (no fault active) and each fault, on its node. */
    windows: z.array(loadWindowSchema).optional(),
  }),
  /** Time series sampled by the harness: pending records, cgroup CPU and memory per edge. */
  series: z.object({ pending: seriesMap, cpu: seriesMap, memory: seriesMap }),
  /** Every check's verdict with its metrics and its evidence in full (so a run can be re-judged). */
  checks: z.array(checkResultSchema),
  metrics: metricsSchema,
  score: scoreResultSchema,
  /** CPU the harness process itself used while the load ran (the load runner is a separate process). */
  harness: z.object({ cpuSeconds: num, wallSeconds: num, shareOfOneCore: num }).nullish(),
  gatesPassed: z.boolean(),
  /** The run was interrupted (Ctrl-C, a signal): it is scored as nothing. */
  interrupted: z.boolean().optional(),
  error: z.string().optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;
