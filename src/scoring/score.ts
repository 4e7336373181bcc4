import { describeEmulated, EMULATED_NOT_SCORED } from '../checks/types.ts';
import type {
  EmulatedMetric,
  Criterion,
  CriterionResult,
  Gate,
  GateResult,
  Metrics,
  Rubric,
  ScoreResult,
  TermResult,
} from './types.ts';

export { mergeMetrics, notProvidedMetrics, scoringInput, type ScoringInput } from './merge.ts';

/** Linear normalisation between the worst (0) and best (1) anchors, clamped. */
export function normalize(value: number, best: number, worst: number): number {
  if (best === worst) return value === best ? 1 : 0;
  const x = (value - worst) / (best - worst);
  return Math.min(1, Math.max(0, x));
}

function gatePasses(g: Gate, v: number): boolean {
  switch (g.op) {
    case '<=':
      return v <= g.value;
    case '>=':
      return v >= g.value;
    case '<':
      return v < g.value;
    case '>':
      return v > g.value;
    case '==':
      return v === g.value;
  }
}

export interface ScoreOptions {
  /** Metric → why the submission did not provide it: zero points over the full weight, gates on it fail. */
  notProvided?: Record<string, string>;
  /** An interrupted run is scored as nothing. */
  interrupted?: boolean;
  /** Metric → its value on emulated nodes alone: shown beside the term as "emulated, not scored". */
  emulated?: Record<string, EmulatedMetric>;
}

/** "emulated, not scored: edge-2 (arm64 under qemu-user) measured 812 ms" */
export function emulatedReason(e: EmulatedMetric): string {
  return `${EMULATED_NOT_SCORED}: ${describeEmulated(e.nodes)} measured ${Number(e.measured.value.toFixed(2))} ${e.measured.unit}`;
}

function judgeTerms(
  c: Criterion,
  metrics: Metrics,
  notProvided: Record<string, string>,
  emulatedAll: Record<string, EmulatedMetric>,
): TermResult[] {
  return c.terms.map((t): TermResult => {
    const m = metrics[t.metric];
    const emu = emulatedAll[t.metric];
    const emulated = emu ? { emulated: emu } : {};
    if (m && Number.isFinite(m.value))
      return {
        metric: t.metric,
        measured: m,
        normalized: normalize(m.value, t.best, t.worst),
        status: 'measured',
        ...emulated,
      };
    const why = notProvided[t.metric] ?? (m ? `${t.metric} is not a finite number (${m.value})` : undefined);
    if (why !== undefined)
      return {
        metric: t.metric,
        measured: m,
        normalized: 0,
        status: 'not-provided',
        reason: why,
        ...emulated,
      };
    // measured only on emulated nodes: visible, left out of the score like a metric not measured
    if (emu)
      return {
        metric: t.metric,
        normalized: undefined,
        status: 'emulated',
        reason: emulatedReason(emu),
        emulated: emu,
      };
    return { metric: t.metric, measured: undefined, normalized: undefined, status: 'not-measured' };
  });
}

function judgeGate(
  g: Gate,
  metrics: Metrics,
  notProvided: Record<string, string>,
  emulated: Record<string, EmulatedMetric>,
): GateResult {
  const v = metrics[g.metric]?.value;
  if (v !== undefined && Number.isFinite(v)) {
    const ok = gatePasses(g, v);
    return { gate: g, measured: v, passed: ok, status: ok ? 'passed' : 'failed' };
  }
  const why = notProvided[g.metric];
  if (why !== undefined) return { gate: g, passed: false, status: 'failed', reason: `not provided: ${why}` };
  const emu = emulated[g.metric];
  if (emu) return { gate: g, passed: false, status: 'not-measured', reason: emulatedReason(emu) };
  return { gate: g, passed: false, status: 'not-measured', reason: `${g.metric} was not measured here` };
}

function scoreCriterion(
  c: Criterion,
  metrics: Metrics,
  notProvided: Record<string, string>,
  emulated: Record<string, EmulatedMetric>,
): CriterionResult {
  const terms = judgeTerms(c, metrics, notProvided, emulated);
  const judged = c.terms.map((t, i) => ({ t, r: terms[i]! })).filter((x) => x.r.normalized !== undefined);
  let points: number | undefined;
  if (judged.length > 0) {
    const wsum = judged.reduce((a, x) => a + (x.t.weight ?? 1), 0);
    points = (c.weight * judged.reduce((a, x) => a + (x.t.weight ?? 1) * x.r.normalized!, 0)) / wsum;
  }
  const gates = (c.gates ?? []).map((g) => judgeGate(g, metrics, notProvided, emulated));
  const missing = terms.filter((t) => t.status === 'not-provided');
  const allMissing = judged.length > 0 && missing.length === judged.length;
  const emulatedOnly = terms.filter((t) => t.status === 'emulated');
  const reasons = [
    ...missing.map((t) => `${t.metric}: not provided (${t.reason})`),
    ...emulatedOnly.map((t) => `${t.metric}: ${t.reason}`),
  ];
  return {
    id: c.id,
    title: c.title,
    area: c.area,
    weight: c.weight,
    points,
    status:
      points === undefined
        ? emulatedOnly.length
          ? 'emulated'
          : 'not-measured'
        : allMissing
          ? 'not-provided'
          : 'scored',
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
    terms,
    gates,
  };
}

const describeGate = (g: GateResult): string =>
  `${g.gate.metric} ${g.gate.op} ${g.gate.value} (measured ${g.measured ?? (g.status === 'failed' ? 'nothing: not provided' : 'nothing')})`;

/**
 * Score = Σ weight × normalised value over the criteria judged on this run.
 * - A criterion whose metrics the TARGET cannot measure is "not measured": left out (neither zero nor full).
 * - A metric the SUBMISSION did not provide scores zero over its full weight: leaving something out never pays.
 * - A failed gate zeroes the criterion it guards, or its whole area when the gate says `zeroes: 'area'`.
 * - An interrupted run scores nothing.
 */
export function score(rubric: Rubric, metrics: Metrics, opts: ScoreOptions = {}): ScoreResult {
  const notProvided = opts.notProvided ?? {};
  const criteria = rubric.criteria.map((c) => scoreCriterion(c, metrics, notProvided, opts.emulated ?? {}));
  const failedGates: string[] = [];
  const unmeasuredGates: string[] = [];
  const zeroed = new Map<string, string>();
  const zeroedAreas = new Map<string, string>();
  for (const c of criteria) {
    for (const g of c.gates) {
      if (g.status === 'failed') {
        const area = g.gate.zeroes === 'area';
        const what = area ? `zeroes the whole ${c.area} area: ${g.gate.reason}` : `zeroes ${c.id}`;
        const line = `${c.id}: ${describeGate(g)} — ${g.gate.because}; ${what}`;
        failedGates.push(line);
        g.reason = g.reason ?? g.gate.because;
        // the criterion says which gate zeroed it; the full line (with the rubric's reason) is in failedGates
        const short = `${c.id}: ${describeGate(g)}${area ? ` (zeroes the whole ${c.area} area)` : ''}`;
        if (area && !zeroedAreas.has(c.area)) zeroedAreas.set(c.area, short);
        if (!zeroed.has(c.id)) zeroed.set(c.id, short);
      } else if (g.status === 'not-measured' && c.status !== 'not-measured' && c.status !== 'emulated') {
        unmeasuredGates.push(
          `${c.id}: ${g.gate.metric} ${g.gate.op} ${g.gate.value} not measured${g.reason?.startsWith('emulated') ? ` (${g.reason})` : ''} — ${g.gate.because}`,
        );
      }
    }
  }
  for (const c of criteria) {
    const why = zeroed.get(c.id) ?? zeroedAreas.get(c.area);
    if (why === undefined) continue;
    c.points = 0;
    // Already zero for want of what the submission did not provide: keep saying that first.
    if (c.status !== 'not-provided') c.status = 'gate-failed';
    c.reason = [c.reason, `gate failed: ${why}`].filter(Boolean).join('; ');
  }
  if (opts.interrupted) {
    for (const c of criteria) {
      if (c.points === undefined) continue;
      c.points = 0;
      c.reason = 'the run was interrupted: scored as nothing';
    }
  }
  const judged = criteria.filter((c) => c.points !== undefined);
  const total = judged.reduce((a, c) => a + c.points!, 0);
  const possible = judged.reduce((a, c) => a + c.weight, 0);
  return {
    rubric: { name: rubric.name, version: rubric.version },
    criteria,
    total: round(total),
    possible,
    percent: possible > 0 ? round((total / possible) * 100) : 0,
    gatesPassed: !opts.interrupted && failedGates.length === 0 && unmeasuredGates.length === 0,
    failedGates: opts.interrupted
      ? ['the run was interrupted: scored as nothing', ...failedGates]
      : failedGates,
    unmeasuredGates,
    ...(opts.interrupted ? { interrupted: true } : {}),
  };
}

const round = (x: number): number => Math.round(x * 100) / 100;
