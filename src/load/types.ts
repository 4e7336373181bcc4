/**
 * Types of the load runner. A load script is written like a k6 script (see src/load/README.md):
 * `export const options = { scenarios, thresholds }`, `export default async function () {...}`
 * and named exec functions, importing `check`, `sleep`, `group` from src/load/k6/index.ts, `http`
 * from src/load/k6/http.ts and `Trend`/`Counter`/`Rate`/`Gauge` from src/load/k6/metrics.ts. The
 * option shapes are k6's own (from `@types/k6`, MIT).
 */
import type { Options as K6Options, Scenario as K6Scenario, Stage as K6Stage, Threshold } from 'k6/options';

export type Options = K6Options;
export type Scenario = K6Scenario;
export type Stage = K6Stage;
export type ThresholdSpec = Threshold;
export type Executor = Scenario['executor'];

/** A script's module namespace, as the runner sees it. */
export interface LoadScript {
  options?: Options;
  default?: (data: unknown) => unknown;
  setup?: () => unknown;
  teardown?: (data: unknown) => unknown;
  handleSummary?: (data: SummaryData) => unknown;
  [exec: string]: unknown;
}

/** k6's end-of-test data (what `handleSummary(data)` receives), the subset the runner fills in. */
export interface SummaryData {
  metrics: Record<string, MetricSummary>;
  root_group: GroupSummary;
  options: { summaryTrendStats: string[]; summaryTimeUnit: string; noColor: boolean };
  state: { isStdOutTTY: boolean; isStdErrTTY: boolean; testRunDurationMs: number };
  setup_data?: unknown;
}

export interface MetricSummary {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  contains: 'default' | 'time' | 'data';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface GroupSummary {
  name: string;
  path: string;
  id: string;
  groups: GroupSummary[];
  checks: { name: string; path: string; id: string; passes: number; fails: number }[];
}

/** The outcome of one threshold expression, at the end of the run (or when it aborted the run). */
export interface ThresholdResult {
  /** The metric key as written, e.g. `http_req_duration{name:write}`. */
  metric: string;
  /** The expression as written, e.g. `p(95)<200`. */
  expression: string;
  ok: boolean;
  /** The aggregate the expression compared (undefined when the metric has no data). */
  value: number | undefined;
  abortOnFail: boolean;
  /** Set on the threshold whose failure aborted the run. */
  aborted?: boolean;
}

export type WriteOutcome = 'ok' | 'failed' | 'indeterminate';

/** One line of the results stream (JSON lines, like `k6 --out json`). */
export type Sample =
  | {
      type: 'http';
      /** ms since the run started (monotonic): when the request was sent. */
      t: number;
      scenario: string;
      method: string;
      name: string;
      node?: string;
      status: number;
      ok: boolean;
      /**
       * ms: k6's http_req_duration, except in arrival-rate executors where the first request of an
       * iteration is measured from the iteration's intended start (coordinated omission), and `lag`
       * says how much of it was the wait for the runner.
       */
      duration: number;
      lag?: number;
      error?: string;
      group?: string;
      /** Tags other than scenario/name/node/method/status/group (scenario tags, request tags). */
      tags?: Record<string, string>;
    }
  | {
      type: 'write';
      t: number;
      tDone: number;
      id: string;
      node: string;
      payloadBytes: number;
      outcome: WriteOutcome;
      status: number;
    }
  | { type: 'check'; t: number; scenario: string; name: string; ok: boolean; group?: string }
  | { type: 'dropped'; t: number; scenario: string }
  /** An iteration that threw (it counts as failed; the run goes on). */
  | { type: 'error'; t: number; scenario: string; message: string }
  /** A value added to a custom metric (Trend/Counter/Rate/Gauge). */
  | { type: 'metric'; t: number; metric: string; value: number; tags?: Record<string, string> }
  /**
   * First line: the runner's clock origin (t = 0) as wall-clock ms, so samples can be aligned with
   * the harness's timeline, and the CPU the runner had used by then (start-up, script import).
   */
  | { type: 'start'; t: 0; epochMs: number; cpuSeconds?: number }
  /** Last line: the runner's own CPU use, to compare with the harness's. */
  | { type: 'end'; t: number; cpuSeconds: number };
