import { parseDuration } from '../core/duration.ts';
import type { ScenarioOptions } from './types.ts';

/**
 * Arrival times (ms from the scenario's start) of an open-model executor — pure, so it is unit-tested.
 * constant-arrival-rate: evenly spaced. ramping-arrival-rate: the rate moves linearly from the
 * previous stage's target to this one's; arrivals are placed where the integral of the rate reaches
 * each whole iteration.
 */
export function arrivalTimes(s: ScenarioOptions): number[] {
  if (s.executor === 'constant-vus') return [];
  const unit = parseDuration(s.timeUnit ?? '1s', 'timeUnit');
  const out: number[] = [];
  if (s.executor === 'constant-arrival-rate') {
    const dur = parseDuration(s.duration, 'duration');
    if (s.rate <= 0) return out;
    const gap = unit / s.rate;
    for (let t = 0; t < dur; t += gap) out.push(t);
    return out;
  }
  let t0 = 0;
  let r0 = s.startRate ?? 0;
  let acc = 0; // iterations accumulated so far (fractional)
  let next = 0; // next whole iteration to place
  for (const st of s.stages) {
    const d = parseDuration(st.duration, 'stages[].duration');
    const r1 = st.target;
    // rate(t) = r0 + (r1-r0)*t/d per unit; integral I(t) = (r0*t + (r1-r0)*t^2/(2d)) / unit
    const total = ((r0 + r1) / 2) * (d / unit);
    while (next < acc + total - 1e-9) {
      const need = next - acc; // iterations into this stage
      const a = (r1 - r0) / (2 * d * unit);
      const b = r0 / unit;
      let t: number;
      if (Math.abs(a) < 1e-15) t = need / b;
      else t = (-b + Math.sqrt(b * b + 4 * a * need)) / (2 * a);
      out.push(t0 + t);
      next++;
    }
    acc += total;
    t0 += d;
    r0 = r1;
  }
  return out;
}

export function scenarioDuration(s: ScenarioOptions): number {
  if (s.executor === 'ramping-arrival-rate')
    return s.stages.reduce((a, st) => a + parseDuration(st.duration), 0);
  return parseDuration(s.duration, 'duration');
}
