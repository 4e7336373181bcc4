import { UsageError } from './errors.ts';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest duration edgechaos accepts anywhere (7 days): far beyond any campaign, fault or
 * timeout, and far below the 2^31 ms (24.8 days) at which Node's timers overflow to 1 ms.
 */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;

function bounded(ms: number, text: string | number, what: string): number {
  if (ms > MAX_DURATION_MS)
    throw new UsageError(
      `${what}: ${typeof text === 'number' ? `${text} ms` : `"${text}"`} is longer than the maximum of 7 days (168h)`,
    );
  return ms;
}

/** Parse "250ms", "30s", "1m30s", "2h" (or a bare number of milliseconds) into milliseconds; at most 7 days. */
export function parseDuration(text: string | number, what = 'duration'): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0)
      throw new UsageError(`${what} must be a non-negative number, got ${text}`);
    return bounded(text, text, what);
  }
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return bounded(Number(s), text, what);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * (unitMs[m[2]!] ?? 0);
    consumed = re.lastIndex;
  }
  if (consumed !== s.length || s.length === 0) {
    throw new UsageError(`${what}: cannot read "${text}" as a duration (use e.g. 250ms, 30s, 1m30s)`);
  }
  return bounded(total, text, what);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${s}s`;
}
