import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { runLoad, type LoadResult } from '../../src/load/run-load.ts';

/** The path of one of our k6 modules, for a test script's imports. */
export const k6 = (m: string): string => join(repoRoot, 'src/load/k6', m);

/** Write a load script `name` into `dir`; its path. */
export function writeScript(dir: string, name: string, source: string): string {
  const script = join(dir, name);
  writeFileSync(script, source);
  return script;
}

/** Run `script` to its end under a cleanup registry `runId` in `dir`, its output in `<dir>/out`. */
export async function runScript(
  dir: string,
  runId: string,
  script: string,
  env: Record<string, string>,
): Promise<LoadResult> {
  await using registry = CleanupRegistry.open(runId, dir);
  return await runLoad({ script, outDir: join(dir, 'out'), env, registry });
}
