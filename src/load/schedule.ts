import { parseDuration } from '../core/duration.ts';
import { UsageError } from '../core/errors.ts';
import type { Executor, Options, Scenario } from './types.ts';

/**
 * Scenario planning, pure (unit-tested): k6's options shorthands → scenarios, validation with the
 * field named, arrival times of the open-model executors and the VU targets of ramping-vus.
 */
export interface StagePlan {
  durationMs: number;
  target: number;
}

export interface PlannedScenario {
  name: string;
  executor: Executor;
  exec: string;
  startTimeMs: number;
  gracefulStopMs: number;
  env: Record<string, string>;
  tags: Record<string, string>;
  /** constant-vus, ramping-vus (start), shared/per-vu iterations. */
  vus: number;
  /** shared-iterations (total) / per-vu-iterations (each). */
  iterations: number;
  /** constant-*: the duration; iterations executors: maxDuration; ramping: the sum of the stages. */
  durationMs: number;
  stages: StagePlan[];
  /** arrival-rate: iterations per timeUnit. */
  rate: number;
  startRate: number;
  timeUnitMs: number;
  preAllocatedVUs: number;
  maxVUs: number;
  gracefulRampDownMs: number;
}

const EXECUTORS: readonly Executor[] = [
  'shared-iterations',
  'per-vu-iterations',
  'constant-vus',
  'ramping-vus',
  'constant-arrival-rate',
  'ramping-arrival-rate',
];

/** k6's shorthands: `stages` → ramping-vus, `vus`+`duration` → constant-vus, `iterations` → shared-iterations. */
export function scenariosOf(options: Options | undefined): Record<string, Scenario> {
  const o = options ?? {};
  if (o.scenarios && Object.keys(o.scenarios).length) return o.scenarios;
  if (o.stages?.length)
    return { default: { executor: 'ramping-vus', startVUs: o.vus ?? 1, stages: o.stages } };
  if (o.duration) return { default: { executor: 'constant-vus', vus: o.vus ?? 1, duration: o.duration } };
  if (o.iterations)
    return { default: { executor: 'shared-iterations', vus: o.vus ?? 1, iterations: o.iterations } };
  return { default: { executor: 'per-vu-iterations', vus: o.vus ?? 1, iterations: 1 } };
}

type Loose = Record<string, unknown>;

export function planScenarios(options: Options | undefined, file?: string): PlannedScenario[] {
  const out: PlannedScenario[] = [];
  for (const [name, sc] of Object.entries(scenariosOf(options))) {
    const s = sc as unknown as Loose;
    const f = (k: string): string => `options.scenarios.${name}.${k}`;
    const err = (k: string, msg: string): UsageError => new UsageError(msg, { file, field: f(k) });
    const dur = (k: string, def?: string): number => {
      const v = s[k] ?? def;
      if (v === undefined) throw err(k, 'is required');
      if (typeof v !== 'string' && typeof v !== 'number') throw err(k, 'must be a duration such as 30s');
      try {
        return parseDuration(v, f(k));
      } catch (e) {
        throw err(k, (e as Error).message);
      }
    };
    const int = (k: string, def?: number, min = 0): number => {
      const v = s[k] ?? def;
      if (v === undefined) throw err(k, 'is required');
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
        throw err(k, `must be an integer ≥ ${min}`);
      return v;
    };
    const num = (k: string, def?: number): number => {
      const v = s[k] ?? def;
      if (v === undefined) throw err(k, 'is required');
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw err(k, 'must be a number ≥ 0');
      return v;
    };
    const stages = (): StagePlan[] => {
      const st = s['stages'];
      if (!Array.isArray(st) || st.length === 0)
        throw err('stages', 'must be a non-empty array of { duration, target }');
      return st.map((x: Loose, i) => {
        const k = `stages[${i}]`;
        if (typeof x?.['target'] !== 'number' || x['target'] < 0)
          throw err(`${k}.target`, 'must be a number ≥ 0');
        if (typeof x['duration'] !== 'string' && typeof x['duration'] !== 'number')
          throw err(`${k}.duration`, 'must be a duration');
        return { durationMs: parseDuration(x['duration'], f(`${k}.duration`)), target: x['target'] };
      });
    };
    const executor = s['executor'] as Executor;
    if (!EXECUTORS.includes(executor)) throw err('executor', `must be one of ${EXECUTORS.join(', ')}`);
    for (const k of ['env', 'tags'])
      if (s[k] !== undefined && (typeof s[k] !== 'object' || s[k] === null))
        throw err(k, 'must be an object of strings');
    const p: PlannedScenario = {
      name,
      executor,
      exec: typeof s['exec'] === 'string' ? s['exec'] : 'default',
      startTimeMs: dur('startTime', '0s'),
      gracefulStopMs: dur('gracefulStop', '30s'),
      env: (s['env'] as Record<string, string>) ?? {},
      tags: (s['tags'] as Record<string, string>) ?? {},
      vus: 0,
      iterations: 0,
      durationMs: 0,
      stages: [],
      rate: 0,
      startRate: 0,
      timeUnitMs: 1000,
      preAllocatedVUs: 0,
      maxVUs: 0,
      gracefulRampDownMs: 0,
    };
    switch (executor) {
      case 'constant-vus':
        p.vus = int('vus', 1, 1);
        p.durationMs = dur('duration');
        break;
      case 'ramping-vus':
        p.vus = int('startVUs', 1);
        p.stages = stages();
        p.durationMs = p.stages.reduce((a, x) => a + x.durationMs, 0);
        p.gracefulRampDownMs = dur('gracefulRampDown', '30s');
        break;
      case 'shared-iterations':
      case 'per-vu-iterations':
        p.vus = int('vus', 1, 1);
        p.iterations = int('iterations', 1, 1);
        p.durationMs = dur('maxDuration', '10m');
        if (executor === 'shared-iterations' && p.iterations < p.vus) p.vus = p.iterations;
        break;
      case 'constant-arrival-rate':
      case 'ramping-arrival-rate':
        p.timeUnitMs = dur('timeUnit', '1s');
        if (p.timeUnitMs <= 0) throw err('timeUnit', 'must be > 0');
        p.preAllocatedVUs = int('preAllocatedVUs', undefined, 0);
        p.maxVUs = int('maxVUs', p.preAllocatedVUs, 1);
        if (p.maxVUs < p.preAllocatedVUs) throw err('maxVUs', 'must be ≥ preAllocatedVUs');
        if (executor === 'constant-arrival-rate') {
          p.rate = num('rate');
          p.durationMs = dur('duration');
        } else {
          p.startRate = num('startRate', 0);
          p.stages = stages();
          p.durationMs = p.stages.reduce((a, x) => a + x.durationMs, 0);
        }
        break;
    }
    out.push(p);
  }
  return out;
}

/**
 * Arrival times (ms from the scenario's start) of an open-model executor, lazily (an hour at 10k/s
 * is 36M arrivals). constant-arrival-rate: evenly spaced. ramping-arrival-rate: the rate moves
 * linearly from the previous stage's target to this one's; arrivals are placed where the integral
 * of the rate reaches each whole iteration.
 */
export function* arrivalTimes(s: PlannedScenario): Generator<number> {
  const unit = s.timeUnitMs;
  if (s.executor === 'constant-arrival-rate') {
    if (s.rate <= 0) return;
    const gap = unit / s.rate;
    for (let i = 0; ; i++) {
      const t = i * gap;
      if (t >= s.durationMs) return;
      yield t;
    }
  }
  if (s.executor !== 'ramping-arrival-rate') return;
  let t0 = 0;
  let r0 = s.startRate;
  let acc = 0; // iterations accumulated before this stage (fractional)
  let next = 0; // next whole iteration to place
  for (const st of s.stages) {
    const d = st.durationMs;
    const r1 = st.target;
    const total = ((r0 + r1) / 2) * (d / unit);
    while (next < acc + total - 1e-9) {
      const need = next - acc;
      const a = (r1 - r0) / (2 * d * unit);
      const b = r0 / unit;
      const t = Math.abs(a) < 1e-15 ? need / b : (-b + Math.sqrt(b * b + 4 * a * need)) / (2 * a);
      yield t0 + t;
      next++;
    }
    acc += total;
    t0 += d;
    r0 = r1;
  }
}

/** ramping-vus: the VU target at `t` ms into the scenario (linear within each stage). */
export function vuTarget(s: PlannedScenario, t: number): number {
  let from = s.vus;
  let t0 = 0;
  for (const st of s.stages) {
    if (t < t0 + st.durationMs) {
      const f = st.durationMs > 0 ? (t - t0) / st.durationMs : 1;
      return Math.round(from + (st.target - from) * f);
    }
    t0 += st.durationMs;
    from = st.target;
  }
  return from;
}

/** The most VUs a scenario can use (for sizing connection pools and the vus_max gauge). */
export function maxVus(s: PlannedScenario): number {
  if (s.executor === 'ramping-vus') return Math.max(s.vus, ...s.stages.map((x) => x.target));
  if (s.executor.endsWith('arrival-rate')) return s.maxVUs;
  return s.vus;
}
