import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The edgechaos checkout (where package.json, tools.lock.json and stack/ live). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where bootstrap puts pinned tools (git-ignored). */
export function toolsDir(): string {
  return process.env['EDGECHAOS_TOOLS_DIR'] ?? join(repoRoot, '.tools');
}

/** Shared build cache across checkouts on one machine, so a fresh clone does not rebuild Go tools. */
export function toolCacheDir(): string {
  return (
    process.env['EDGECHAOS_TOOL_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'edgechaos', 'tools')
  );
}

/**
 * Where run journals live, so `edgechaos cleanup` can find what a killed harness left applied.
 * Machine-wide by default (faults are machine-wide), overridable for tests.
 */
export function stateDir(): string {
  if (process.env['EDGECHAOS_STATE_DIR']) return process.env['EDGECHAOS_STATE_DIR'];
  if (process.getuid?.() === 0) return '/var/lib/edgechaos/state';
  return join(process.env['XDG_STATE_HOME'] ?? join(homedir(), '.local', 'state'), 'edgechaos');
}

export function reportsDir(): string {
  return process.env['EDGECHAOS_REPORTS_DIR'] ?? join(repoRoot, 'reports');
}
