import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunRecord } from '../record/schema.ts';
import { parseSamples } from '../load/summary.ts';
import type { Sample } from '../load/types.ts';

/** The shape of run.json lives in src/record/schema.ts; reading and validating it in src/record/load.ts. */
export { runRecordSchema } from '../record/schema.ts';
export { parseRunRecord } from '../record/load.ts';
export { loadRunRecord as readRunDir } from '../record/load.ts';

/** The load samples of a run (load/samples.jsonl), or undefined when the run kept none. */
export function readRunSamples(runDir: string, record: RunRecord): Sample[] | undefined {
  const rel = record.load.samplesFile;
  if (!rel) return undefined;
  const file = resolve(runDir, rel);
  if (!existsSync(file)) return undefined;
  return parseSamples(readFileSync(file, 'utf8'));
}
