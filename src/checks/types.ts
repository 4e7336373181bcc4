import { z } from 'zod';
import { percentile } from '../load/summary.ts';
import { metricsSchema, type Metric, type Metrics } from '../scoring/types.ts';
import { metricsOfCheck } from './catalogue.ts';

/** What a check concludes: a verdict, the metrics it measured, and the evidence behind them. */
export const checkResultSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['passed', 'failed', 'not-measured']),
  /** One line for people: what was measured and why the verdict. */
  summary: z.string(),
  metrics: metricsSchema,
  /** Data behind the verdict (e.g. every lost id), kept in full in run.json so a run can be re-judged. */
  evidence: z.record(z.string(), z.unknown()),
  /**
   * Set when the SUBMISSION did not provide what the check needs (no image, too few acknowledged
   * writes, …): the listed metrics score zero over their full weight, and gates on them fail.
   */
  notProvided: z.object({ reason: z.string(), metrics: z.array(z.string()) }).optional(),
  /** How long the check took (its measurement and evaluation), ms; set by the campaign. */
  durationMs: z.number().optional(),
  /**
   * Timing measured on nodes whose image ran under an emulator (qemu-user, `arch: arm64` on an amd64
   * host): not comparable with native timing, so `metrics` leave those nodes out and their own values
   * are kept here, shown as "emulated, not scored" and never scored.
   */
  emulated: z
    .object({
      /** node → the architecture that ran emulated */
      nodes: z.record(z.string(), z.string()),
      /** The check's timing metrics measured on those nodes alone (same names as in `metrics`). */
      metrics: metricsSchema,
    })
    .optional(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

/** Fewest acknowledged writes a check judges on, unless the scenario sets its own minimum. */
export const DEFAULT_MIN_ACKNOWLEDGED_WRITES = 20;
/** Fewest client requests inside the fault windows a check judges on. */
export const DEFAULT_MIN_REQUESTS = 20;

/**
 * The TARGET cannot measure this (e.g. scheduling on `local`, or the scenario has no partition):
 * the criteria it feeds are left out of the score, neither zero nor full marks.
 */
export function notMeasured(id: string, title: string, why: string): CheckResult {
  return { id, title, status: 'not-measured', summary: why, metrics: {}, evidence: {} };
}

/**
 * The SUBMISSION did not provide what the check needs (no image in its manifest, no acknowledged
 * write, no conformance run, …): the check fails and every metric it would have produced (from the
 * catalogue, or `metrics`) scores zero over its full weight. Leaving something out never pays.
 */
export function notProvided(
  id: string,
  title: string,
  why: string,
  opts: { metrics?: readonly string[]; evidence?: Record<string, unknown> } = {},
): CheckResult {
  return {
    id,
    title,
    status: 'failed',
    summary: `not provided: ${why}`,
    metrics: {},
    evidence: opts.evidence ?? {},
    notProvided: { reason: why, metrics: [...(opts.metrics ?? metricsOfCheck(id))] },
  };
}

/** Bytes for people, in decimal megabytes (1 MB = 10⁶ B) like the rubric's anchors and the reports. */
export function formatMB(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB`;
}

/** The median of repeated measurements (ascending) as a metric, with their spread. */
export function medianMetric(sorted: readonly number[], unit: string, source: string): Metric {
  return {
    value: percentile(sorted, 50),
    unit,
    source,
    spread: { min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0, n: sorted.length },
  };
}

/** How reports and scores name a metric measured on emulated nodes. */
export const EMULATED_NOT_SCORED = 'emulated, not scored';

/** Nodes whose stack ran under an emulator: node → emulated architecture. */
export type EmulatedNodes = Readonly<Record<string, string>>;

/** "edge-2 (arm64 under qemu-user)" for the nodes given (all of `emulated` by default). */
export function describeEmulated(emulated: EmulatedNodes, nodes = Object.keys(emulated)): string {
  return nodes.map((n) => `${n} (${emulated[n] ?? '?'} under qemu-user)`).join(', ');
}

/** Items of native nodes and of emulated ones. */
export function byEmulation<T>(
  items: readonly T[],
  nodeOf: (x: T) => string | undefined,
  emulated: EmulatedNodes,
): { native: T[]; emulated: T[] } {
  const isEmu = (x: T): boolean => {
    const n = nodeOf(x);
    return n !== undefined && Object.hasOwn(emulated, n);
  };
  return { native: items.filter((x) => !isEmu(x)), emulated: items.filter(isEmu) };
}

/**
 * `c` with the timing `metrics` measured on the emulated `nodes` attached as "emulated, not scored"
 * (unchanged when no emulated node contributed anything).
 */
export function withEmulated(
  c: CheckResult,
  emulated: EmulatedNodes,
  nodes: readonly string[],
  metrics: Metrics,
): CheckResult {
  const involved = [...new Set(nodes)].filter((n) => Object.hasOwn(emulated, n)).sort();
  if (involved.length === 0) return c;
  return {
    ...c,
    summary: `${c.summary}; ${EMULATED_NOT_SCORED}: ${describeEmulated(emulated, involved)}${
      Object.keys(metrics).length
        ? ` (${Object.entries(metrics)
            .map(([k, m]) => `${k} ${Number(m.value.toFixed(1))} ${m.unit}`)
            .join(', ')})`
        : ''
    }`,
    emulated: { nodes: Object.fromEntries(involved.map((n) => [n, emulated[n]!])), metrics },
  };
}
