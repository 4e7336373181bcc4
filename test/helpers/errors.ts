import assert from 'node:assert/strict';
import { ScenarioError } from '../../src/core/errors.ts';

/**
 * A validator for `assert.throws`/`assert.rejects`: a ScenarioError naming `field`, its message
 * matching `message`; with `file`, naming that file; with `describe`, its description matching.
 */
export function scenarioErrorAt(
  field: string,
  message: RegExp,
  o: { file?: string; describe?: RegExp } = {},
): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(e instanceof ScenarioError, String(e));
    if (o.file !== undefined) assert.equal(e.file, o.file);
    assert.equal(e.field, field);
    assert.match(e.message, message);
    if (o.describe) assert.match(e.describe(), o.describe);
    return true;
  };
}
