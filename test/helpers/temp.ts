import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp dir removed on dispose: `using dir = tempDir('x')`. */
export function tempDir(prefix: string): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), `edgechaos-test-${prefix}-`));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A TMPDIR of this test process's own, for it and every process it spawns (set for the rest of the
 * process: node --test runs each file in its own), so what the test finds in its temp dir or on
 * command lines naming it (ssh masters' control paths, browser profiles) is its own, not that of
 * another run on the machine. Call before anything makes a temp file; dispose removes the dir.
 */
export function privateTmpdir(): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), 'edgechaos-tmp-'));
  process.env['TMPDIR'] = path;
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * For a test suite (call inside `describe`): EDGECHAOS_REPORTS_DIR and EDGECHAOS_STATE_DIR point at
 * fresh temp dirs while it runs, restored and removed after. Returns the dirs.
 */
export function isolatedRunDirs(
  before: (fn: () => void) => void,
  after: (fn: () => void) => void,
): { reports: string; state: string } {
  const dirs = { reports: tempDir('reports'), state: tempDir('state') };
  const keys = ['EDGECHAOS_REPORTS_DIR', 'EDGECHAOS_STATE_DIR'] as const;
  const saved = keys.map((k) => process.env[k]);
  before(() => {
    process.env['EDGECHAOS_REPORTS_DIR'] = dirs.reports.path;
    process.env['EDGECHAOS_STATE_DIR'] = dirs.state.path;
  });
  after(() => {
    keys.forEach((k, i) => {
      if (saved[i] === undefined) delete process.env[k];
      else process.env[k] = saved[i];
    });
    dirs.reports[Symbol.dispose]();
    dirs.state[Symbol.dispose]();
  });
  return { reports: dirs.reports.path, state: dirs.state.path };
}

/** Write `value` as JSON to `dir/name`; returns the file's path. */
export function writeJson(dir: string, name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(value));
  return file;
}
