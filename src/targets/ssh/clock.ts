/**
 * Board clocks drift from the harness's; the ssh target measures each board's offset with a few
 * round trips (NTP-style: the sample with the shortest round trip wins, its midpoint is the harness
 * time the board's reading corresponds to) and maps board timestamps into harness time.
 */
export interface ClockSample {
  /** Harness wall clock (ms since epoch) when the request left and when the answer arrived. */
  sentMs: number;
  receivedMs: number;
  /** The board's clock reading (ms since epoch). */
  boardMs: number;
}

export interface ClockOffset {
  /** board − harness, ms (positive: the board runs ahead). */
  offsetMs: number;
  /** Half the best round trip: how far off `offsetMs` can be. */
  uncertaintyMs: number;
  samples: number;
}

export function estimateOffset(samples: readonly ClockSample[]): ClockOffset {
  if (samples.length === 0) throw new Error('estimateOffset: no samples');
  let best = samples[0]!;
  for (const s of samples) if (s.receivedMs - s.sentMs < best.receivedMs - best.sentMs) best = s;
  const mid = (best.sentMs + best.receivedMs) / 2;
  return {
    offsetMs: Math.round((best.boardMs - mid) * 10) / 10,
    uncertaintyMs: Math.round(((best.receivedMs - best.sentMs) / 2) * 10) / 10,
    samples: samples.length,
  };
}

/** A board timestamp (ms since epoch, board clock) as harness wall-clock ms. */
export function toHarnessMs(boardMs: number, offset: Pick<ClockOffset, 'offsetMs'>): number {
  return boardMs - offset.offsetMs;
}
