import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fieldPath } from '../config/load.ts';
import { ScenarioError } from '../core/errors.ts';
import { runRecordSchema, type RunRecord } from './schema.ts';

/** Validate a parsed run.json; every problem names the file and the field. */
export function parseRunRecord(value: unknown, file: string): RunRecord {
  const r = runRecordSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = fieldPath(issue.path);
    const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : '';
    throw new ScenarioError(`invalid run record: ${issue.message}${more}`, {
      file,
      ...(field ? { field } : {}),
    });
  }
  return r.data;
}

/** Read and validate `<runDir>/run.json`: a missing, corrupt or invalid file is one clear error naming it. */
export function loadRunRecord(runDir: string): RunRecord {
  const file = join(resolve(runDir), 'run.json');
  if (!existsSync(file))
    throw new ScenarioError('no run.json here: not a run directory (runs are written under reports/)', {
      file,
    });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(`cannot read run.json: ${(err as Error).message}`, { file, cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ScenarioError(`run.json is not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
  return parseRunRecord(value, file);
}
