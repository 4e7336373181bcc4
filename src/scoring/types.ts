import { z } from 'zod';

/**
 * The shapes scoring works with, as zod schemas: the run record (src/record/schema.ts) is built from
 * them, and every TypeScript type here is inferred from its schema, so the two cannot drift apart.
 */

const finite = z.number().refine(Number.isFinite, { message: 'must be a finite number' });

/** A measured number with where it came from, so every point in a report traces back to it. */
export const metricSchema = z.object({
  value: z.number(),
  unit: z.string(),
  /** Which check or collector produced it (e.g. "check:resumed-sync"). */
  source: z.string(),
  /** Spread, where the metric is a summary of repeated measurements. */
  spread: z.object({ min: z.number(), max: z.number(), n: z.number() }).optional(),
});
export type Metric = z.infer<typeof metricSchema>;

export const metricsSchema = z.record(z.string(), metricSchema);
export type Metrics = z.infer<typeof metricsSchema>;

/** Largest weight a rubric may give a criterion or a term: beyond it sums lose meaning (1e308 → Infinity). */
export const MAX_WEIGHT = 1000;
const weight = finite
  .refine((w) => w > 0, { message: 'weight must be positive' })
  .refine((w) => w <= MAX_WEIGHT, { message: `weight must be at most ${MAX_WEIGHT}` });

export const areas = ['lightweight-images', 'edge-cloud-collaboration', 'dynamic-scheduling'] as const;
export type Area = (typeof areas)[number];

export const rubricTermSchema = z
  .object({
    /** Key in the run's metrics, e.g. "image.max.bytes". */
    metric: z.string().min(1),
    direction: z.enum(['lower-is-better', 'higher-is-better']),
    /** Value that earns full marks (or better). */
    best: finite,
    /** Value that earns nothing (or worse). */
    worst: finite,
    /** Relative weight inside the criterion (default 1). */
    weight: weight.optional(),
  })
  .strict()
  .refine((t) => (t.direction === 'lower-is-better' ? t.best < t.worst : t.best > t.worst), {
    message: 'best and worst anchors contradict the direction',
  });
export type RubricTerm = z.infer<typeof rubricTermSchema>;

export const gateSchema = z
  .object({
    metric: z.string().min(1),
    op: z.enum(['<=', '>=', '==', '<', '>']),
    value: finite,
    /** Why this gate exists, shown when it fails. */
    because: z.string().min(1),
    /**
     * What a failed gate zeroes: the criterion it guards (default) or its whole track area.
     * Zeroing an area needs a `reason`, stored with the rubric and shown with the score.
     */
    zeroes: z.enum(['criterion', 'area']).optional(),
    reason: z.string().min(1).optional(),
  })
  .strict()
  .refine((g) => g.zeroes !== 'area' || g.reason !== undefined, {
    message: 'a gate that zeroes its whole area must say why (reason)',
    path: ['reason'],
  });
export type Gate = z.infer<typeof gateSchema>;

export const criterionSchema = z
  .object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/, 'id must be kebab-case'),
    title: z.string().min(1),
    /** The track's problem it belongs to. */
    area: z.enum(areas),
    weight,
    terms: z.array(rubricTermSchema).min(1),
    gates: z.array(gateSchema).optional(),
  })
  .strict();
export type Criterion = z.infer<typeof criterionSchema>;

export const rubricSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'version must look like 1.0 or 1.0.0'),
    criteria: z
      .array(criterionSchema)
      .min(1)
      .refine((cs) => new Set(cs.map((c) => c.id)).size === cs.length, {
        message: 'criterion ids must be unique',
      }),
  })
  .strict();
export type Rubric = z.infer<typeof rubricSchema>;

/**
 * How a term, gate or criterion came out:
 * - measured / scored: judged on a value;
 * - not-measured: the TARGET cannot measure it (scheduling on `local`): neither zero nor full marks;
 * - not-provided: the SUBMISSION did not provide what it needs (no image, no acknowledged writes):
 *   zero points over the full weight, with the reason;
 * - gate-failed: a gate guarding the criterion (or its area) failed: zero points.
 * - emulated: measured only on nodes whose stack ran under an emulator (qemu-user): timing there is
 *   not comparable, so it is shown as "emulated, not scored" and left out, like not-measured.
 */
export const emulatedMetricSchema = z.object({
  measured: metricSchema,
  /** node → the architecture that ran emulated */
  nodes: z.record(z.string(), z.string()),
});
export type EmulatedMetric = z.infer<typeof emulatedMetricSchema>;

export const termResultSchema = z.object({
  metric: z.string(),
  measured: metricSchema.optional(),
  normalized: z.number().optional(),
  status: z.enum(['measured', 'not-measured', 'not-provided', 'emulated']).optional(),
  reason: z.string().optional(),
  /** The value measured on emulated nodes alone: shown, never scored. */
  emulated: emulatedMetricSchema.optional(),
});
export type TermResult = z.infer<typeof termResultSchema>;

export const gateStatuses = ['passed', 'failed', 'not-measured'] as const;
export type GateStatus = (typeof gateStatuses)[number];

const gateResultObject = z.object({
  gate: gateSchema,
  measured: z.number().optional(),
  /** status === 'passed' (kept for readers of older records). */
  passed: z.boolean(),
  status: z.enum(gateStatuses),
  /** Why it failed or was not measured. */
  reason: z.string().optional(),
});
/** Records written before `status` existed: derive it from `passed`. */
export const gateResultSchema = z.preprocess(
  (v) =>
    v && typeof v === 'object' && !('status' in v) && 'passed' in v
      ? { ...v, status: v.passed === true ? 'passed' : 'failed' }
      : v,
  gateResultObject,
);
export type GateResult = z.infer<typeof gateResultObject>;

export const criterionStatuses = [
  'scored',
  'not-measured',
  'not-provided',
  'gate-failed',
  'emulated',
] as const;

export const criterionResultSchema = z.object({
  id: z.string(),
  title: z.string(),
  area: z.enum(areas),
  weight: z.number(),
  /** undefined when none of its metrics was measured here (not-measured) or only on emulated nodes (emulated). */
  points: z.number().optional(),
  status: z.enum(criterionStatuses),
  /** Why it scored zero or was not measured. */
  reason: z.string().optional(),
  terms: z.array(termResultSchema),
  gates: z.array(gateResultSchema),
});
export type CriterionResult = z.infer<typeof criterionResultSchema>;

export const scoreResultSchema = z.object({
  rubric: z.object({ name: z.string(), version: z.string() }),
  criteria: z.array(criterionResultSchema),
  /** Points earned over the criteria judged on this target. */
  total: z.number(),
  /** Sum of the weights of the criteria judged (scored, not provided or zeroed by a gate). */
  possible: z.number(),
  /** total / possible × 100 */
  percent: z.number(),
  gatesPassed: z.boolean(),
  /** Gates that failed, first in every output: each says what it zeroed. */
  failedGates: z.array(z.string()),
  /** Gates of judged criteria whose metric was not measured here. */
  unmeasuredGates: z.array(z.string()).optional(),
  /** The run was interrupted: it is scored as nothing. */
  interrupted: z.boolean().optional(),
});
export type ScoreResult = z.infer<typeof scoreResultSchema>;
