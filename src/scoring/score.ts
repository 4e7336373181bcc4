import type { Criterion, CriterionResult, Gate, Metrics, Rubric, ScoreResult, TermResult } from './types.ts';

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

function scoreCriterion(c: Criterion, metrics: Metrics): CriterionResult {
  const terms: TermResult[] = c.terms.map((t) => {
    const m = metrics[t.metric];
    return { metric: t.metric, measured: m, normalized: m ? normalize(m.value, t.best, t.worst) : undefined };
  });
  const measured = c.terms.map((t, i) => ({ t, r: terms[i]! })).filter((x) => x.r.normalized !== undefined);
  let points: number | undefined;
  if (measured.length > 0) {
    const wsum = measured.reduce((a, x) => a + (x.t.weight ?? 1), 0);
    points = (c.weight * measured.reduce((a, x) => a + (x.t.weight ?? 1) * x.r.normalized!, 0)) / wsum;
  }
  // A gate whose metric was not measured does not pass silently: it fails, unless the whole criterion is not measured here.
  const gates = (c.gates ?? []).map((gate) => {
    const v = metrics[gate.metric]?.value;
    return { gate, measured: v, passed: v === undefined ? points === undefined : gatePasses(gate, v) };
  });
  return {
    id: c.id,
    title: c.title,
    area: c.area,
    weight: c.weight,
    points,
    status: points === undefined ? 'not-measured' : 'scored',
    terms,
    gates,
  };
}

/**
 * Score = Σ weight × normalised value over the criteria measured on this target. Criteria whose
 * evidence the target cannot produce are "not measured": neither zero nor full marks.
 */
export function score(rubric: Rubric, metrics: Metrics): ScoreResult {
  const criteria = rubric.criteria.map((c) => scoreCriterion(c, metrics));
  const scored = criteria.filter((c) => c.points !== undefined);
  const total = scored.reduce((a, c) => a + c.points!, 0);
  const possible = scored.reduce((a, c) => a + c.weight, 0);
  const failedGates = criteria.flatMap((c) =>
    c.gates
      .filter((g) => !g.passed)
      .map(
        (g) =>
          `${c.id}: ${g.gate.metric} ${g.gate.op} ${g.gate.value} (measured ${g.measured ?? 'nothing'}) — ${g.gate.because}`,
      ),
  );
  return {
    rubric: { name: rubric.name, version: rubric.version },
    criteria,
    total: round(total),
    possible,
    percent: possible > 0 ? round((total / possible) * 100) : 0,
    gatesPassed: failedGates.length === 0,
    failedGates,
  };
}

const round = (x: number): number => Math.round(x * 100) / 100;
