import type { PhaseResult } from './bench-types.ts';

/** What held a burst phase's binding rate down, judged from the scheduler's own metrics. */
export interface Limit {
  component: 'client-rate-limit' | 'pod-creator' | 'scheduler' | 'api-server' | 'unknown';
  /** The figures the judgement rests on, in words. */
  why: string;
}

/**
 * Pure: which component limited a burst phase's throughput T (pods/s), in this order:
 * - the scheduler's client rate limiter, when its mean wait per POST is over half the time
 *   between two bindings (1000/T ms) or T is within 10 % of the qps;
 * - when pods arrived less than 20 % faster than they were bound (the scheduler kept up with
 *   them): the API server if creations were as slow as the scheduler's binding calls (the
 *   creator's `concurrency` slots then allow about concurrency × 1000 / bind-ms creations a
 *   second, within 2× of the arrivals), else the pod creator itself;
 * - the scheduler, when its serial scheduling cycle (filter + score, one pod at a time) took
 *   more than 60 % of the time between bindings, or its process used more than one core;
 * - otherwise the API server and etcd (the binding calls, the watch): on a shared 2-core machine
 *   they take the CPU the scheduler leaves.
 */
export function limitingComponent(phase: PhaseResult, qps: number, concurrency: number): Limit {
  const t = phase.throughput;
  const b = phase.scheduler;
  if (!b || t <= 0) return { component: 'unknown', why: 'no scheduler metrics for the phase' };
  const gapMs = 1000 / t;
  const cycle = (b.algorithmMs * t) / 1000;
  const cores = (b.cpuMsPerPod * t) / 1000;
  const figures = `${t} pods/s (${gapMs.toFixed(2)} ms apart), created ${phase.arrivalPerSecond}/s, limiter wait ${b.limiterWaitMs} ms/POST, filter+score ${b.algorithmMs} ms (cycle ${pct(cycle)} busy), bind call ${b.bindMs} ms, scheduler CPU ${cores.toFixed(2)} cores`;
  if (b.limiterWaitMs > gapMs / 2 || t >= 0.9 * qps)
    return { component: 'client-rate-limit', why: `qps ${qps}: ${figures}` };
  const arrivals = phase.arrivalPerSecond;
  if (arrivals > 0 && arrivals < 1.2 * t) {
    const creatorCap = (concurrency * 1000) / Math.max(b.bindMs, 0.001);
    return creatorCap < 2 * arrivals
      ? {
          component: 'api-server',
          why: `creations and bindings both wait on the API server (${concurrency} creations in flight allow ~${Math.round(creatorCap)}/s at the bind call's latency): ${figures}`,
        }
      : { component: 'pod-creator', why: figures };
  }
  if (cycle > 0.6 || cores > 1) return { component: 'scheduler', why: figures };
  return { component: 'api-server', why: figures };
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}
