import { nowMs } from '../targets/kube/object-store.ts';

/**
 * Where the harness's clock stands against the schedulers'. The harness times pods with nowMs():
 * the monotonic clock from a wall-clock origin read once at start-up. The schedulers stamp their
 * Scheduled events with the wall clock (CLOCK_REALTIME, microseconds). The two drift apart (the
 * origin's own error, NTP slewing the wall clock): a paced phase once reported a p50 of −0.2 ms
 * while the scheduler's own metrics said 4.2 ms queue → bound. Event times are moved onto the
 * harness's clock with this offset before any latency is taken.
 */
export interface ClockOffset {
  /** Wall clock − nowMs(), ms. */
  offsetMs: number;
  /** Half-width of the interval the offset is known to lie in, ms. */
  uncertaintyMs: number;
}

/**
 * Pure given its clocks: the offset of `wall` (integer ms, as Date.now()) from `now`. Spins to
 * the next millisecond edge of the wall clock: the edge lies between the last reading of the old
 * value and the first of the new one, so the offset is known to within that gap (microseconds,
 * unless the process was descheduled in it). The narrowest of `samples` edges.
 */
export function measureClockOffset(
  samples = 5,
  now: () => number = nowMs,
  wall: () => number = Date.now,
): ClockOffset {
  let best: ClockOffset | undefined;
  for (let i = 0; i < samples; i++) {
    let before = now();
    const w0 = wall();
    let t = before;
    let w = w0;
    while (w === w0) {
      before = t;
      t = now();
      w = wall();
    }
    const after = now();
    if (w !== w0 + 1) continue; // the wall clock stepped: no edge to read
    const lo = w - after;
    const hi = w - before;
    const x = { offsetMs: (lo + hi) / 2, uncertaintyMs: (hi - lo) / 2 };
    if (!best || x.uncertaintyMs < best.uncertaintyMs) best = x;
  }
  if (!best) throw new Error('clock alignment: the wall clock stepped at every sample');
  return best;
}

/**
 * Pure: one offset from readings before and after a phase. The wall clock may have been slewed
 * in between: the offset is their mean and the drift widens the uncertainty.
 */
export function combineOffsets(a: ClockOffset, b: ClockOffset): ClockOffset {
  return {
    offsetMs: (a.offsetMs + b.offsetMs) / 2,
    uncertaintyMs: Math.max(a.uncertaintyMs, b.uncertaintyMs) + Math.abs(a.offsetMs - b.offsetMs) / 2,
  };
}

/** Latencies are reported to 0.1 ms: nothing finer is a figure. */
export const DISPLAY_RESOLUTION_MS = 0.1;

/** Pure: the smallest latency a phase can tell from zero, given its clock offset's uncertainty. */
export function latencyResolutionMs(clock: ClockOffset): number {
  return Math.max(DISPLAY_RESOLUTION_MS, Math.ceil(20 * clock.uncertaintyMs) / 10);
}

/**
 * Pure: latency samples fit to report. A sample more than one resolution below zero means the
 * clocks were not aligned (a pod bound before its create request was sent): an error naming the
 * pod, never a figure. A sample below the resolution is reported as the resolution and counted.
 */
export function checkedLatencies(
  samples: readonly { pod: string; ms: number }[],
  resolutionMs: number,
): { values: number[]; subResolution: number } {
  let subResolution = 0;
  const values = samples.map(({ pod, ms }) => {
    if (ms < -resolutionMs)
      throw new Error(
        `clock alignment: pod ${pod} bound ${(-ms).toFixed(3)} ms before its create request was sent (resolution ${resolutionMs} ms)`,
      );
    if (ms >= resolutionMs) return ms;
    subResolution++;
    return resolutionMs;
  });
  return { values, subResolution };
}
