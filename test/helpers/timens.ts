import { readFileSync } from 'node:fs';

/** Offsets (whole seconds) of a process's time namespace (/proc/PID/timens_offsets). */
export interface TimeOffsets {
  monotonic: number;
  boottime: number;
}

/** The monotonic and boottime offsets of a process's time namespace; undefined once it is gone. */
export function offsetsOf(pid: number): TimeOffsets | undefined {
  try {
    return Object.fromEntries(
      readFileSync(`/proc/${pid}/timens_offsets`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim().split(/\s+/))
        .map((f) => [f[0], Number(f[1])]),
    ) as TimeOffsets;
  } catch {
    return undefined;
  }
}

/** Seconds since boot from the text of /proc/uptime (CLOCK_BOOTTIME as a time namespace sees it). */
export const uptimeSecs = (text: string): number => Number(text.trim().split(/\s+/)[0]);
