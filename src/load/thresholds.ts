import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import type { ThresholdSpec } from './types.ts';

/**
 * k6 thresholds: `thresholds: { 'http_req_duration{name:write}': ['p(95)<200', { threshold:
 * 'p(99.9)<1000', abortOnFail: true, delayAbortEval: '10s' }], checks: ['rate>0.99'] }`.
 * Pure parsing and evaluation; the runner feeds it the aggregates of its metrics.
 */
export interface MetricKey {
  /** The key as written. */
  key: string;
  metric: string;
  /** Tag filter of a submetric (`{name:write}`), empty for the metric itself. */
  filter: Record<string, string>;
}

export interface ParsedThreshold {
  metric: MetricKey;
  expression: string;
  /** avg, min, max, med, count, rate, value or p(N). */
  aggregate: string;
  op: '<' | '<=' | '>' | '>=' | '==' | '===' | '!=';
  bound: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

export function parseMetricKey(key: string, file?: string): MetricKey {
  const m = /^\s*([A-Za-z_][\w.-]*)\s*(?:\{([^}]*)\})?\s*$/.exec(key);
  if (!m)
    throw new UsageError(`threshold metric "${key}" is not name or name{tag:value}`, {
      file,
      field: `options.thresholds.${key}`,
    });
  const filter: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',')) {
    if (!part.trim()) continue;
    const i = part.indexOf(':');
    if (i <= 0)
      throw new UsageError(`threshold tag filter "${part}" is not tag:value`, {
        file,
        field: `options.thresholds.${key}`,
      });
    filter[part.slice(0, i).trim()] = part
      .slice(i + 1)
      .trim()
      .replace(/^(['"])(.*)\1$/, '$2');
  }
  return { key, metric: m[1]!, filter };
}

const EXPR =
  /^\s*(avg|min|max|med|count|rate|value|p\(\s*\d+(?:\.\d+)?\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\s*$/;

export function parseThresholds(
  spec: Record<string, ThresholdSpec[]> | undefined,
  file?: string,
): ParsedThreshold[] {
  const out: ParsedThreshold[] = [];
  for (const [key, list] of Object.entries(spec ?? {})) {
    const metric = parseMetricKey(key, file);
    if (!Array.isArray(list))
      throw new UsageError('must be an array of expressions', { file, field: `options.thresholds.${key}` });
    list.forEach((t, i) => {
      const field = `options.thresholds.${key}[${i}]`;
      const expression = typeof t === 'string' ? t : t?.threshold;
      if (typeof expression !== 'string')
        throw new UsageError('must be a string or { threshold }', { file, field });
      const m = EXPR.exec(expression);
      if (!m)
        throw new UsageError(`"${expression}" is not <aggregate> <op> <number> (e.g. p(95)<200, rate>0.99)`, {
          file,
          field,
        });
      const obj: { abortOnFail?: boolean; delayAbortEval?: string } = typeof t === 'string' ? {} : t;
      out.push({
        metric,
        expression,
        aggregate: m[1]!.replace(/\s+/g, ''),
        op: m[2] as ParsedThreshold['op'],
        bound: Number(m[3]),
        abortOnFail: obj.abortOnFail === true,
        delayAbortEvalMs: obj.delayAbortEval
          ? parseDuration(obj.delayAbortEval, `${field}.delayAbortEval`)
          : 0,
      });
    });
  }
  return out;
}

/** Which aggregates a metric type supports (k6's rules). */
export const AGGREGATES: Record<string, (a: string) => boolean> = {
  trend: (a) => ['avg', 'min', 'max', 'med', 'count'].includes(a) || a.startsWith('p('),
  counter: (a) => a === 'count' || a === 'rate',
  rate: (a) => a === 'rate',
  gauge: (a) => a === 'value',
};

export function compare(value: number, op: ParsedThreshold['op'], bound: number): boolean {
  switch (op) {
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '==':
    case '===':
      return value === bound;
    case '!=':
      return value !== bound;
  }
}

/**
 * Evaluate one threshold against an aggregate lookup. A metric with no data passes, as in k6
 * (e.g. `http_req_failed{name:write}` when no write was sent) — the rubric, not the threshold, is
 * where "not enough evidence" is judged.
 */
export function evaluate(t: ParsedThreshold, value: number | undefined): boolean {
  if (value === undefined || Number.isNaN(value)) return true;
  return compare(value, t.op, t.bound);
}

/** True when a sample's tags match a submetric filter. */
export function matches(
  filter: Record<string, string>,
  tags: Readonly<Record<string, string | undefined>>,
): boolean {
  for (const k in filter) if (tags[k] !== filter[k]) return false;
  return true;
}
