import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ToolMissingError } from '../core/errors.ts';
import { toolsDir } from '../core/paths.ts';

/** Find an executable: first in .tools/bin (pinned builds), then on PATH (and the sbin dirs). */
export function which(name: string): string | undefined {
  const dirs = [
    join(toolsDir(), 'bin'),
    ...(process.env['PATH'] ?? '').split(delimiter),
    '/usr/sbin',
    '/sbin',
    '/usr/bin',
  ];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** Path of a required tool, or a ToolMissingError with the install hint. */
export function requireTool(name: string, hint = 'run `edgechaos bootstrap` (or scripts/bootstrap)'): string {
  const p = which(name);
  if (!p) throw new ToolMissingError(name, hint);
  return p;
}

/** The version stamp bootstrap wrote next to a Go-built tool. */
export function builtVersion(name: string): string | undefined {
  const stamp = join(toolsDir(), 'bin', `${name}.version`);
  if (!existsSync(stamp)) return undefined;
  return readFileSync(stamp, 'utf8').trim();
}
