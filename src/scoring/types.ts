/** A measured number with where it came from, so every point in a report traces back to it. */
export interface Metric {
  value: number;
  unit: string;
  /** Which check or collector produced it (e.g. "check:resumed-sync"). */
  source: string;
  /** Spread, where the metric is a summary of repeated measurements. */
  spread?: { min: number; max: number; n: number };
}

export type Metrics = Record<string, Metric>;

export interface RubricTerm {
  /** Key in the run's metrics, e.g. "image.edge-agent.bytes". */
  metric: string;
  direction: 'lower-is-better' | 'higher-is-better';
  /** Value that earns full marks (or better). */
  best: number;
  /** Value that earns nothing (or worse). */
  worst: number;
  /** Relative weight inside the criterion (default 1). */
  weight?: number;
}

export interface Gate {
  metric: string;
  op: '<=' | '>=' | '==' | '<' | '>';
  value: number;
  /** Why this gate exists, shown when it fails. */
  because: string;
}

export interface Criterion {
  id: string;
  title: string;
  /** The track's problem it belongs to. */
  area: 'lightweight-images' | 'edge-cloud-collaboration' | 'dynamic-scheduling';
  weight: number;
  terms: RubricTerm[];
  gates?: Gate[];
}

export interface Rubric {
  name: string;
  version: string;
  criteria: Criterion[];
}

export interface TermResult {
  metric: string;
  measured: Metric | undefined;
  normalized: number | undefined;
}

export interface CriterionResult {
  id: string;
  title: string;
  area: Criterion['area'];
  weight: number;
  /** undefined when none of its metrics was measured on this target. */
  points: number | undefined;
  status: 'scored' | 'not-measured';
  terms: TermResult[];
  gates: { gate: Gate; measured: number | undefined; passed: boolean }[];
}

export interface ScoreResult {
  rubric: { name: string; version: string };
  criteria: CriterionResult[];
  /** Points earned over the criteria measured on this target. */
  total: number;
  /** Sum of the weights of the measured criteria. */
  possible: number;
  /** total / possible × 100 */
  percent: number;
  gatesPassed: boolean;
  failedGates: string[];
}
