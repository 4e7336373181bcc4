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

const windowSchema = z.object({ node: z.string(), start: num, end: num });

/**
 * `edgechaos run --find-capacity` (src/campaign/capacity.ts): per edge, the highest constant arrival
 * rate it sustained within the SLO (src/load/capacity.ts), measured on the healed stack after the
 * checks' evidence was gathered, each step as measured.
 */
/** One capacity search on one edge: its result and every step. */
const capacitySearchSchema = z.object({
  /** req/s; undefined when the search broke (`error`). */
  capacity: num.optional(),
  limitedBy: z.enum(['slo', 'client', 'maxRate']).optional(),
  steps: z.array(
    z.object({
      rate: num,
      requests: num,
      dropped: num,
      p99Ms: num,
      errorRate: num,
      lagP99Ms: num.optional(),
      ok: z.boolean(),
      breach: z.enum(['p99', 'errors', 'client']).optional(),
    }),
  ),
  error: z.string().optional(),
});

export const capacitySchema = z.object({
  /** The request each step sends (GET, to every edge). */
  path: z.string(),
  slo: z.object({ p99Ms: num, maxErrorRate: num }),
  startRate: num,
  maxRate: num,
  stepMs: num,
  /** Re-runs of a step that broke the SLO before it counted as broken. */
  confirmBreaches: num.optional(),
  edges: z.array(
    capacitySearchSchema.extend({
      node: z.string(),
      /**
       * The same search again while the faults the scenario holds on this edge (cpu-stress, latency,
       * loss …; not instant ones such as kill) are applied, then reverted. Absent when the scenario
       * holds none on it.
       */
      underFaults: capacitySearchSchema
        .extend({
          /** The faults held during the search: "<id> <kind>". */
          faults: z.array(z.string()),
        })
        .optional(),
    }),
  ),
});
export type CapacityRecord = z.infer<typeof capacitySchema>;
/** One capacity search on one edge (healed, or `underFaults`). */
export type CapacitySearchRecord = z.infer<typeof capacitySearchSchema>;

/**
 * What the checks judged, as gathered from a run (src/campaign/evidence.ts judges it): the large parts
 * — load samples, ledger rows — are files of the run dir; times are ms since the load started.
 */
export const campaignEvidenceSchema = z.object({
  version: z.literal(1),
  /** The load runner's samples file (relative to the run dir) and the shift onto run time. */
  samples: z.object({ file: z.string(), shiftMs: num }).optional(),
  /** The run's ledger rows after convergence (relative to the run dir). */
  ledgerFile: z.string(),
  convergeMs: num.optional(),
  /** Edges whose stack ran under an emulator (node → architecture): their timing is shown, not scored. */
  emulated: z.record(z.string(), z.string()).optional(),
  /** With emulated edges: heal → every acknowledged write of the native edges in the ledger, ms. */
  nativeConvergeMs: num.optional(),
  convergenceTimeoutMs: num,
  faults: z.array(faultRecordSchema),
  /** When each edge's cloud link was cut. */
  partitions: z.array(windowSchema),
  /** Exits of each edge's stack that no fault caused. */
  restarts: z.record(z.string(), num),
  uplinkBytes: z.record(z.string(), num),
  /** cgroup usage of the edges that had no stressor injected. */
  usage: z.record(z.string(), z.object({ peakRssBytes: num, cpuSeconds: num })),
  /** Edges left out of `usage`: a stressor ran in their cgroup. */
  stressed: z.array(z.string()),
  /** Config publications the scenario planned; those the hub never accepted count as not provided. */
  publicationsPlanned: num,
  publications: z.array(
    z.object({
      version: num,
      at: num,
      reached: z.record(z.string(), z.object({ ms: num.optional(), afterHeal: z.boolean() })),
    }),
  ),
  coldStartsMs: z.array(num),
  /** What every cold start sample started (ssh: `runc run` of the cached rootfs, or the process). */
  coldStartPath: z.enum(['container', 'process']).optional(),
  /** How each node's stack ran and why (ssh: a runc container, or the process where a board lacks runc). */
  runtimes: z
    .record(z.string(), z.object({ runtime: z.enum(['oci', 'process']), reason: z.string() }))
    .optional(),
  /** Why the cold starts did not all answer, when they did not. */
  coldStartError: z.string().optional(),
  images: z.record(z.string(), z.string()),
  conformance: z.union([
    z.object({ disabled: z.literal(true) }),
    z.object({
      cases: z.array(
        z.object({
          id: z.string(),
          title: z.string(),
          status: z.enum(['passed', 'failed', 'not-run']),
          reason: z.string().optional(),
          ms: num,
        }),
      ),
      passed: num,
      failed: num,
      notRun: num,
      passRatio: num,
    }),
  ]),
  /** Verdicts only the target can make (Kubernetes: scheduling, rescheduling), judged where measured. */
  targetChecks: z.array(checkResultSchema),
  /** The limits the checks judge against (the scenario's `checks`). */
  limits: z.object({
    offline: z.object({ minSuccessRate: num }),
    syncEfficiency: z.object({ maxOverheadRatio: num }),
    resources: z.object({ maxPeakRssBytes: num }),
    startup: z.object({ maxMs: num }),
    image: z.object({ maxBytes: num }),
    minAcknowledgedWrites: num,
  }),
  /** How long gathering each check's evidence took, ms (by check id). */
  durations: z.record(z.string(), num),
  /** The load runner's end: its thresholds as evaluated, k6's end-of-test metric values, an abort. */
  load: z
    .object({
      thresholds: z.array(
        z.object({
          metric: z.string(),
          expression: z.string(),
          ok: z.boolean(),
          value: num.optional(),
          abortOnFail: z.boolean(),
          aborted: z.boolean().optional(),
        }),
      ),
      metrics: z.record(z.string(), z.record(z.string(), num)),
      aborted: z.string().optional(),
    })
    .optional(),
  /** The capacity search (`--find-capacity`), when the run made one. */
  capacity: capacitySchema.optional(),
});
export type CampaignEvidence = z.infer<typeof campaignEvidenceSchema>;

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
  /** What the checks judged: `edgechaos score` can judge it again with newer checks. */
  evidence: campaignEvidenceSchema.optional(),
  error: z.string().optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;
