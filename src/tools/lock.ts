import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../core/paths.ts';

export interface GoTool {
  module: string;
  version: string;
  package: string;
  /** Extra -ldflags, e.g. to stamp the version into the binary. */
  ldflags?: string;
}

export interface ToolsLock {
  debian: string[];
  go: Record<string, GoTool>;
}

export function readToolsLock(path = join(repoRoot, 'tools.lock.json')): ToolsLock {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<ToolsLock>;
  if (!Array.isArray(raw.debian) || typeof raw.go !== 'object' || raw.go === null) {
    throw new Error(`${path}: expected "debian" (array) and "go" (object)`);
  }
  return { debian: raw.debian, go: raw.go };
}
