import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { privateTmpdir } from '../helpers/temp.ts';

/**
 * The browsers this test process launches (itself, or through a CLI it spawns), told apart from
 * other processes' browsers on the machine (a concurrent test run launching Chromium counted as
 * this test's leftover): the process gets a private TMPDIR (privateTmpdir), so Playwright makes its
 * profiles there.
 * Every Chromium process of such a browser names that profile on its command line; the crashpad
 * handlers, double-forked to init, carry the TMPDIR in their environment. Call before any launch.
 */
export function watchBrowsers(): { leftovers(): { pids: number[]; profiles: string[] }; dispose(): void } {
  const tmp = privateTmpdir();
  const dir = tmp.path;
  return {
    leftovers: () => ({
      pids: chromiumPidsUsing(dir),
      profiles: readdirSync(dir).filter((f) => f.startsWith('playwright_')),
    }),
    dispose: () => tmp[Symbol.dispose](),
  };
}

/** PIDs of running Chromium processes (by their executable) whose command line or env names `dir`. */
function chromiumPidsUsing(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!/chromium|chrome/.test(readlinkSync(`/proc/${e}/exe`))) continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      const env = readFileSync(`/proc/${e}/environ`, 'utf8').split('\0');
      if (cmd.includes(`${dir}/`) || env.includes(`TMPDIR=${dir}`)) out.push(Number(e));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}
