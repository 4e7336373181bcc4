import { readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** PIDs of running Chromium processes (by their executable), to prove a test left none behind. */
export function chromiumPids(): Set<number> {
  const out = new Set<number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (/chromium|chrome/.test(readlinkSync(`/proc/${e}/exe`))) out.add(Number(e));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** Playwright's temporary browser profiles in the temp dir. */
export function browserProfiles(): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('playwright_')));
}

/** What appeared in `after` that was not in `before`. */
export function added<T>(before: Set<T>, after: Set<T>): T[] {
  return [...after].filter((x) => !before.has(x));
}
