import { measurableOn, producersOf } from '../checks/catalogue.ts';
import { validate, loadConfig } from '../config/load.ts';
import { ScenarioError } from '../core/errors.ts';
import { rubricSchema, type Rubric } from './types.ts';

export { rubricSchema };

/** Typed helper for rubric files (scenarios/rubric.ts). */
export function defineRubric(r: Rubric): Rubric {
  return r;
}

/**
 * What the schema cannot see: every term and gate metric must be one some check declares
 * (src/checks/catalogue.ts), a term's direction must be the metric's, and the weights must add up
 * to a finite score. The error names the file and the field (criteria[3].terms[0].metric).
 */
export function checkRubric(r: Rubric, file: string): Rubric {
  r.criteria.forEach((c, i) => {
    const refs = [
      ...c.terms.map((t, j) => ({ metric: t.metric, field: `criteria[${i}].terms[${j}].metric`, term: t })),
      ...(c.gates ?? []).map((g, j) => ({
        metric: g.metric,
        field: `criteria[${i}].gates[${j}].metric`,
        term: undefined,
      })),
    ];
    for (const ref of refs) {
      const producers = producersOf(ref.metric);
      if (producers.length === 0)
        throw new ScenarioError(
          `no check produces the metric "${ref.metric}" (see src/checks/catalogue.ts for the metrics each check declares)`,
          { file, field: ref.field },
        );
      const dir = producers[0]!.spec.direction;
      if (ref.term && producers.every((p) => p.spec.direction !== ref.term.direction))
        throw new ScenarioError(
          `${ref.metric} is ${dir} (declared by check ${producers[0]!.check.id}), the term says ${ref.term.direction}`,
          { file, field: ref.field.replace(/\.metric$/, '.direction') },
        );
    }
  });
  const total = r.criteria.reduce((a, c) => a + c.weight, 0);
  if (!Number.isFinite(total) || total <= 0)
    throw new ScenarioError(`criterion weights sum to ${total}: the score would not be a number`, {
      file,
      field: 'criteria',
    });
  return r;
}

/**
 * Before a campaign: a rubric of which nothing can be measured on the target would score "0 / 0".
 * Criteria the target cannot measure are fine (reported as not measured) as long as one can be.
 */
export function checkRubricMeasurable(r: Rubric, target: string, file: string): void {
  if (r.criteria.some((c) => c.terms.some((t) => measurableOn(t.metric, target)))) return;
  throw new ScenarioError(`no criterion of rubric ${r.name} can be measured on target ${target}`, {
    file,
    field: 'criteria',
  });
}

/** Validate rubric data (from a file or stored in a run record); errors name `file` and the field. */
export function parseRubric(value: unknown, file: string): Rubric {
  return checkRubric(validate(rubricSchema, value, file), file);
}

export async function loadRubric(file: string): Promise<Rubric> {
  return checkRubric(await loadConfig(file, rubricSchema, 'rubric'), file);
}
