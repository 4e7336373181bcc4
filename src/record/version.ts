import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../core/paths.ts';

let cached: string | undefined;

/** The harness version, from package.json (never written twice). */
export function harnessVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof pkg.version !== 'string') throw new Error(`${join(repoRoot, 'package.json')}: no version`);
    cached = pkg.version;
  }
  return cached;
}
