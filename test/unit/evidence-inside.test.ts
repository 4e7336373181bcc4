import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadEvidence } from '../../src/campaign/evidence.ts';
import type { CampaignEvidence } from '../../src/record/schema.ts';

/**
 * run.json is data that may come from anywhere (`edgechaos score <copied run dir>`): the files its
 * evidence names — the ledger dump and the load samples — are read only from inside the run
 * directory, never through an absolute path or `../`.
 */
describe('evidence files of a run record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ec-evidence-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = join(dir, 'run');
  mkdirSync(join(run, 'load'), { recursive: true });
  writeFileSync(
    join(run, 'ledger.json'),
    JSON.stringify([{ id: 'a', node: 'edge-1', ts: 1, payload: 1, row: 1 }]),
  );
  writeFileSync(join(dir, 'outside.json'), '[]');
  const evidence = (over: Partial<CampaignEvidence>): CampaignEvidence =>
    ({ version: 1, ledgerFile: 'ledger.json', faults: [], ...over }) as CampaignEvidence;

  it('should read the ledger named inside the run directory', () => {
    assert.equal(loadEvidence(run, evidence({})).ledger.length, 1);
  });

  for (const [what, over, field] of [
    ['a ledger named by ../', { ledgerFile: '../outside.json' }, 'evidence.ledgerFile'],
    ['a ledger named by an absolute path', { ledgerFile: join(dir, 'outside.json') }, 'evidence.ledgerFile'],
    ['samples named by ../', { samples: { file: '../outside.json', shiftMs: 0 } }, 'evidence.samples.file'],
  ] as const)
    it(`should refuse ${what}, naming run.json and the field`, () => {
      assert.throws(
        () => loadEvidence(run, evidence(over)),
        (e: Error & { field?: string; file?: string }) =>
          /outside the run directory/.test(e.message) &&
          e.field === field &&
          e.file === join(run, 'run.json'),
      );
    });
});
