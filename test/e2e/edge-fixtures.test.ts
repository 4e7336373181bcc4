import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { RunRecord } from '../../src/campaign/record.ts';
import { burstSchedule } from '../../faults/loss.ts';
import { planCampaign } from '../../src/campaign/plan.ts';
import { parseDuration } from '../../src/core/duration.ts';
import { runCampaign } from '../../src/campaign/run.ts';
import { loadScenario, scenarioSchema, type Scenario } from '../../src/campaign/scenario.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { localPlugin } from '../../src/targets/local/plugin.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

/**
 * The edge faults against the issue-17 defect fixtures, side by side with the reference stack, in one
 * short harsh-edge-like campaign (each fault on its own node, so every lost write names the fault
 * that lost it):
 *   edge-1  bursty packet loss on its uplink            → sync-give-up stops syncing for good
 *   edge-2  its data disk full for 5 s                  → drop-on-full answers 201 and drops the write
 *   edge-3  cut off, then a power cut while cut off     → ack-before-fsync loses its acknowledged backlog
 *   edge-4  cut off, then kill -9 while cut off         → ack-before-fsync keeps it (the page cache survives)
 */
const fixture = (name: string): string => join(repoRoot, 'test/fixtures/stacks', `${name}.stack.ts`);

async function shortHarshEdge(): Promise<Scenario> {
  const base = await loadScenario(join(repoRoot, 'scenarios/harsh-edge.ts'));
  const s = scenarioSchema.parse({
    name: 'harsh-edge-short',
    seed: 17,
    nodes: ['edge-1', 'edge-2', 'edge-3', 'edge-4'].map((name) => ({ name, profile: 'x86-edge' })),
    warmup: '1s',
    duration: '14s',
    load: { script: base.paths.loadScript, env: { WRITE_RATE: '60', READ_RATE: '10', PAYLOAD_BYTES: '200' } },
    faults: [
      {
        kind: 'loss',
        node: 'edge-1',
        at: '2s',
        for: '9s',
        // The seeded schedule (seed 17) has one burst of 1534 ms at 100 %: longer than the fixture's
        // 1 s sync deadline, so a batch in flight is certainly cut (asserted below). At 95 % in bursts
        // of 767 and 228 ms a batch sometimes got through by retransmission, and the test was flaky.
        params: { percent: 30, burst: '2s', burstPercent: 100, between: 'edge-cloud' },
      },
      { kind: 'disk-full', node: 'edge-2', at: '3s', for: '5s' },
      { kind: 'partition', node: 'edge-3', at: '2s', for: '6s', params: { between: 'edge-cloud' } },
      { kind: 'power-loss', node: 'edge-3', at: '5s', params: { downFor: '500ms' } },
      { kind: 'partition', node: 'edge-4', at: '2s', for: '6s', params: { between: 'edge-cloud' } },
      { kind: 'kill', node: 'edge-4', at: '5s', params: { restartAfter: '500ms' } },
    ],
    convergence: { timeout: '20s' },
    checks: { startup: { samples: 1 }, conformance: false },
  });
  return { ...s, file: base.file, paths: base.paths };
}

async function campaign(stackFile?: string): Promise<RunRecord> {
  const { record } = await runCampaign({
    scenario: await shortHarshEdge(),
    target: localPlugin,
    signal: new AbortController().signal,
    ...(stackFile ? { stackFile } : {}),
  });
  return record;
}

interface SyncEvidence {
  lost: { id: string; node: string }[];
  duplicated: { id: string }[];
}
const sync = (r: RunRecord, t: TestContext): { status: string; summary: string; ev: SyncEvidence } => {
  const c = r.checks.find((x) => x.id === 'resumed-sync');
  assert.ok(c, 'the run has a resumed-sync check');
  const ev = c.evidence as unknown as SyncEvidence;
  const byNode: Record<string, number> = {};
  for (const l of ev.lost) byNode[l.node] = (byNode[l.node] ?? 0) + 1;
  t.diagnostic(`${c.status}: ${c.summary}; lost by node ${JSON.stringify(byNode)}`);
  return { status: c.status, summary: c.summary, ev };
};
const lostOn = (ev: SyncEvidence, node: string): string[] =>
  ev.lost.filter((l) => l.node === node).map((l) => l.id);

describe('edge faults catch the issue-17 defects (short harsh-edge campaign, local target)', () => {
  const dirs = isolatedRunDirs(before, after);
  const noJournals = (): void =>
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
      'every fault and resource reverted',
    );

  it('the reference stack loses and duplicates nothing under loss, disk-full, power-loss and kill -9', async (t) => {
    const r = await campaign();
    const s = sync(r, t);
    assert.equal(s.status, 'passed', s.summary);
    assert.equal(s.ev.lost.length, 0, s.summary);
    assert.equal(s.ev.duplicated.length, 0, s.summary);
    assert.ok((r.metrics['sync.acknowledged']?.value ?? 0) > 200, 'the load really wrote');
    noJournals();
  });

  it('ack-before-fsync passes kill -9 but loses acknowledged writes on the power cut, listed by id', async (t) => {
    const s = sync(await campaign(fixture('ack-before-fsync')), t);
    assert.equal(s.status, 'failed', s.summary);
    assert.ok(lostOn(s.ev, 'edge-3').length > 0, `no lost write on the powered-off edge-3: ${s.summary}`);
    assert.ok(lostOn(s.ev, 'edge-3').every((id) => id.length > 0));
    assert.deepEqual(lostOn(s.ev, 'edge-4'), [], 'kill -9 (page cache kept) loses nothing');
    noJournals();
  });

  it('drop-on-full loses the writes it acknowledged while its disk was full', async (t) => {
    const s = sync(await campaign(fixture('drop-on-full')), t);
    assert.equal(s.status, 'failed', s.summary);
    assert.ok(lostOn(s.ev, 'edge-2').length > 0, `no lost write on the full edge-2: ${s.summary}`);
    assert.deepEqual(
      s.ev.lost.filter((l) => l.node !== 'edge-2'),
      [],
      'only the full disk loses writes',
    );
    noJournals();
  });

  it('sync-give-up never converges once a lossy uplink cut a batch', async (t) => {
    // The premise, from the seeded plan: a burst longer than the fixture's 1 s sync deadline + 0.5 s.
    const scenario = await shortHarshEdge();
    const loss = planCampaign(scenario).faults.find((f) => f.kind === 'loss')!;
    const p = loss.params as { percent: number; burst: string; burstPercent: number };
    const schedule = burstSchedule(
      { percent: p.percent, burstMs: parseDuration(p.burst), burstPercent: p.burstPercent },
      loss.durationMs!,
      loss.seed,
    );
    assert.ok(
      schedule.some((b) => b.goodAt - b.badAt >= 1500),
      `no burst ≥ 1.5 s in ${JSON.stringify(schedule)}`,
    );
    const s = sync(await campaign(fixture('sync-give-up')), t);
    assert.equal(s.status, 'failed', s.summary);
    assert.match(s.summary, /not converged/);
    assert.ok(lostOn(s.ev, 'edge-1').length > 0, `no write of the lossy edge-1 missing: ${s.summary}`);
    noJournals();
  });
});
