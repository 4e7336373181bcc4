import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScenarioError } from '../core/errors.ts';
import type { RunRecord } from './record.ts';

/** Read a run directory's run.json; a missing or corrupt file is one clear error naming it. */
export function readRunRecord(runDir: string): RunRecord {
  const file = join(runDir, 'run.json');
  if (!existsSync(file))
    throw new ScenarioError('no run.json here: not a run directory (runs are written under reports/)', {
      file,
    });
  let rec: unknown;
  try {
    rec = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ScenarioError(`run.json is not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
  const r = rec as Partial<RunRecord>;
  if (r.schema !== 'edgechaos.run/v1')
    throw new ScenarioError(
      `unknown run record schema ${JSON.stringify(r.schema)} (expected edgechaos.run/v1)`,
      { file, field: 'schema' },
    );
  for (const k of ['metrics', 'checks', 'score', 'scenario'] as const) {
    if (typeof r[k] !== 'object' || r[k] === null)
      throw new ScenarioError(`run.json lacks ${k}`, { file, field: k });
  }
  return r as RunRecord;
}
