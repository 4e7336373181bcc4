import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capacityCheck, DEFAULT_CAPACITY, heldFaults } from '../../src/campaign/capacity.ts';
import type { PlannedFault } from '../../src/campaign/plan.ts';
import { campaignEvidenceSchema, type CapacityRecord } from '../../src/record/schema.ts';
import { parseRubric } from '../../src/scoring/rubric.ts';
import { score, scoringInput } from '../../src/scoring/score.ts';

const step = (rate: number, ok: boolean, p99Ms: number, breach?: 'p99' | 'errors' | 'client') => ({
  rate,
  requests: rate * 3,
  dropped: 0,
  p99Ms,
  errorRate: 0,
  ok,
  ...(breach ? { breach } : {}),
});

function record(edges: CapacityRecord['edges']): CapacityRecord {
  const { path, slo, startRate, maxRate, stepMs } = DEFAULT_CAPACITY;
  return { path, slo, startRate, maxRate, stepMs, edges };
}

const measured = record([
  {
    node: 'edge-1',
    capacity: 3000,
    limitedBy: 'slo',
    steps: [
      step(2000, false, 400, 'p99'),
      step(2000, true, 9),
      step(4000, false, 180, 'p99'),
      step(3000, true, 40),
    ],
  },
  {
    node: 'edge-2',
    capacity: 1500,
    limitedBy: 'slo',
    steps: [step(1000, true, 5), step(2000, false, 300, 'p99')],
  },
]);

/** A rubric whose only criterion is the stress capacity (higher is better, 5k/s full marks). */
const rubric = parseRubric(
  {
    name: 'capacity-only',
    version: '0.0.1',
    criteria: [
      {
        id: 'stress-capacity',
        title: 'Stress capacity',
        area: 'edge-cloud-collaboration',
        weight: 10,
        terms: [{ metric: 'capacity.min-rps', direction: 'higher-is-better', best: 5000, worst: 0 }],
      },
    ],
  },
  'test-rubric',
);

describe('stress-capacity check (--find-capacity)', () => {
  it('should report each edge and the weakest edge as metrics a rubric criterion scores', () => {
    const c = capacityCheck(measured);
    assert.equal(c.status, 'passed');
    assert.equal(c.metrics['capacity.edge-1.rps']?.value, 3000);
    assert.equal(c.metrics['capacity.edge-2.rps']?.value, 1500);
    assert.equal(c.metrics['capacity.min-rps']?.value, 1500);
    assert.match(
      c.summary,
      /edge-1: 3000 req\/s \(limited by slo\); at 4000\/s p99 over the SLO \(p99 180\.0 ms/,
    );
    const input = scoringInput([c], { interrupted: false });
    const s = score(rubric, input.metrics, input);
    const crit = s.criteria.find((x) => x.id === 'stress-capacity');
    assert.ok(crit?.points !== undefined && Math.abs(crit.points - 3) < 1e-9, JSON.stringify(crit));
  });

  it('should leave the criterion unmeasured (no minimum) when an edge search broke', () => {
    const c = capacityCheck(
      record([measured.edges[0]!, { node: 'edge-2', steps: [], error: 'capacity search exited with 1' }]),
    );
    assert.equal(c.status, 'not-measured');
    assert.equal(
      c.metrics['capacity.min-rps'],
      undefined,
      'a partial minimum would overstate the weakest edge',
    );
    assert.equal(c.metrics['capacity.edge-1.rps']?.value, 3000);
    assert.match(c.summary, /edge-2: not measured \(capacity search exited with 1\)/);
    const input = scoringInput([c], { interrupted: false });
    assert.equal(score(rubric, input.metrics, input).criteria[0]?.points, undefined);
  });

  it('should keep the search in the evidence schema of run.json', () => {
    const shape = campaignEvidenceSchema.shape.capacity;
    assert.deepEqual(shape.parse(measured), measured);
    assert.throws(() => shape.parse({ ...measured, edges: [{ node: 'x', steps: [{ rate: 'fast' }] }] }));
  });

  it('should report each edge under the faults it holds beside its healed figure, and their weakest', () => {
    const c = capacityCheck(
      record([
        {
          ...measured.edges[0]!,
          underFaults: {
            faults: ['f3 cpu-stress'],
            capacity: 750,
            limitedBy: 'slo',
            steps: [step(500, true, 20), step(1000, false, 300, 'p99'), step(750, true, 60)],
          },
        },
        measured.edges[1]!,
      ]),
    );
    assert.equal(c.status, 'passed');
    assert.equal(c.metrics['capacity.edge-1.under-faults-rps']?.value, 750);
    assert.equal(c.metrics['capacity.edge-2.under-faults-rps'], undefined, 'edge-2 holds no fault');
    assert.equal(c.metrics['capacity.min-under-faults-rps']?.value, 750);
    assert.equal(c.metrics['capacity.min-rps']?.value, 1500, 'the healed figures are unchanged');
    assert.match(
      c.summary,
      /edge-1: 3000 req\/s .*; under cpu-stress: 750 req\/s \(limited by slo\); at 1000\/s p99/,
    );
  });

  it('should leave it unmeasured when the search under faults broke (no minimum under faults)', () => {
    const c = capacityCheck(
      record([
        {
          ...measured.edges[0]!,
          underFaults: { faults: ['f1 latency'], steps: [], error: 'a fault did not apply: x' },
        },
      ]),
    );
    assert.equal(c.status, 'not-measured');
    assert.equal(c.metrics['capacity.min-under-faults-rps'], undefined);
    assert.equal(c.metrics['capacity.edge-1.rps']?.value, 3000);
    assert.match(c.summary, /under latency: not measured \(a fault did not apply: x\)/);
  });

  it('should search again under the faults held on that edge only, not instant ones', () => {
    const f = (id: string, kind: string, node: string, durationMs?: number): PlannedFault => ({
      id,
      kind,
      node,
      at: 0,
      durationMs,
      params: {},
      seed: 1,
    });
    const faults = [
      f('f1', 'partition', 'edge-1', 30_000),
      f('f2', 'kill', 'edge-1'),
      f('f3', 'cpu-stress', 'edge-3', 20_000),
    ];
    assert.deepEqual(
      heldFaults(faults, 'edge-1').map((x) => x.id),
      ['f1'],
    );
    assert.deepEqual(heldFaults(faults, 'edge-2'), []);
    assert.deepEqual(
      heldFaults(faults, 'edge-3').map((x) => x.id),
      ['f3'],
    );
  });
});
