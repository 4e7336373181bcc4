import type { RunRecord } from '../campaign/record.ts';
import type { CheckResult } from '../checks/types.ts';
import type { CriterionResult } from '../scoring/types.ts';

/**
 * Fields of newer run records that the reports show when present. Every one is optional here, so a
 * report of an older run.json (without them) still renders; when the record schema declares them, these
 * read the same fields.
 */
export interface Provenance {
  harnessVersion?: string;
  gitCommit?: string;
  rubric?: { name?: string; version?: string; sha256?: string };
  scenarioSha256?: string;
  stack?: {
    name?: string;
    version?: string;
    manifestSha256?: string;
    images?: { file: string; digest: string }[];
  };
  target?: string;
  host?: { kernel?: string; cpuModel?: string; cores?: number };
  node?: string;
  go?: string;
  seed?: number;
  label?: string;
}

export type GateStatus = 'passed' | 'failed' | 'not-measured';
export type CheckStatus = CheckResult['status'] | 'not-provided';
export type CriterionStatus = CriterionResult['status'] | 'not-provided';
type GateResult = CriterionResult['gates'][number];

export function provenanceOf(r: RunRecord): Provenance | undefined {
  const p = (r as { provenance?: unknown }).provenance;
  return typeof p === 'object' && p !== null ? p : undefined;
}

export function isInterrupted(r: RunRecord): boolean {
  return (r as { interrupted?: unknown }).interrupted === true;
}

/**
 * A gate's status: the record's own when it states one, else derived. A gate on a metric that was not
 * measured is "not measured", never passed (older scorers marked it passed).
 */
export function gateStatus(g: GateResult): GateStatus {
  const s = (g as { status?: unknown }).status;
  if (s === 'passed' || s === 'failed' || s === 'not-measured') return s;
  if (g.measured === undefined) return g.passed ? 'not-measured' : 'failed';
  return g.passed ? 'passed' : 'failed';
}

export function checkStatus(c: CheckResult): CheckStatus {
  return c.status;
}

export function criterionStatus(c: CriterionResult): CriterionStatus {
  return c.status;
}

/** Why a criterion scored what it did when the record says (not provided, zeroed by a gate). */
export function criterionReason(c: CriterionResult): string | undefined {
  const x = c as { reason?: unknown; why?: unknown };
  if (typeof x.reason === 'string' && x.reason) return x.reason;
  if (typeof x.why === 'string' && x.why) return x.why;
  return undefined;
}

/** The ids of checks that measure a criterion's terms (a metric's source is "check:<id>"). */
export function criterionChecks(c: CriterionResult): string[] {
  const ids = c.terms
    .map((t) => t.measured?.source.match(/^check:(.+)$/)?.[1])
    .filter((x): x is string => x !== undefined);
  return [...new Set(ids)];
}

/** Failed gates with the criterion they guard and what the criterion kept: shown first in the report. */
export interface FailedGate {
  criterion: CriterionResult;
  gate: GateResult;
  /** The criterion scored zero (the gate zeroed it). */
  zeroed: boolean;
}

export function failedGates(r: RunRecord): FailedGate[] {
  const out: FailedGate[] = [];
  for (const c of r.score.criteria)
    for (const g of c.gates)
      if (gateStatus(g) === 'failed') out.push({ criterion: c, gate: g, zeroed: c.points === 0 });
  return out;
}
