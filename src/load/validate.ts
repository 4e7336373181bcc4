import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../core/errors.ts';
import { prepareRuntime, resetRuntime } from './engine.ts';
import { runtime } from './runtime.ts';
import { planScenarios, type PlannedScenario } from './schedule.ts';
import { parseThresholds, type ParsedThreshold } from './thresholds.ts';
import type { LoadScript } from './types.ts';

/**
 * Preflight of a load script, before anything is deployed: the file exists and imports, its options
 * plan (every scenario valid, every exec function exported), its thresholds parse and name metrics
 * that exist (built-in or declared at the script's top level). Bad input is a UsageError naming the
 * file and the field. The script's top level runs once here, in this process, with `env` as __ENV.
 */
export async function validateLoadScript(
  file: string,
  env: Record<string, string> = {},
): Promise<{ scenarios: PlannedScenario[]; thresholds: ParsedThreshold[] }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError('load script not found', { file });
  resetRuntime();
  prepareRuntime(env);
  let mod: LoadScript;
  try {
    mod = (await import(pathToFileURL(path).href)) as LoadScript;
  } catch (e) {
    throw new UsageError(`load script does not import: ${e instanceof Error ? e.message : String(e)}`, {
      file,
      cause: e,
    });
  }
  const scenarios = planScenarios(mod.options, file);
  for (const s of scenarios)
    if (typeof mod[s.exec] !== 'function')
      throw new UsageError(`exec "${s.exec}" is not a function exported by the script`, {
        file,
        field: `options.scenarios.${s.name}.exec`,
      });
  const thresholds = parseThresholds(mod.options?.thresholds, file);
  // A fresh registry holds the script's custom metrics (declared at import) and the built-ins.
  runtime.registry.bindThresholds(thresholds, file);
  return { scenarios, thresholds };
}
