import { join } from 'node:path';
import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import { revertLastFirst, type Undoable } from '../core/cleanup/revert-stack.ts';
import { logger } from '../core/logger.ts';
import { byEmulation, withEmulated, type CheckResult, type EmulatedNodes } from '../checks/types.ts';
import { runCapacity, type Slo } from '../load/capacity.ts';
import type { CapacityRecord, CapacitySearchRecord as Search } from '../record/schema.ts';
import type { CampaignDeployment } from '../targets/campaign-port.ts';
import { faultInput, type PlannedFault } from './plan.ts';
import type { Progress, RunLog } from './timeline.ts';

/**
 * The capacity stage of a campaign (`edgechaos run --find-capacity`): after the checks' evidence is
 * gathered (so the stress changes no other measurement), each edge in turn gets a capacity search
 * (src/load/capacity.ts, in a process of its own): the arrival rate of GETs to `path` doubles until
 * the SLO breaks, then is bisected. The result goes into the run's evidence (run.json) and becomes
 * the `stress-capacity` check, whose metrics a rubric may score (`capacity.min-rps`).
 */
export interface CapacitySettings {
  slo: Slo;
  path: string;
  startRate: number;
  maxRate: number;
  stepMs: number;
  /** Re-runs of a step that broke the SLO before it counts as broken (src/load/capacity.ts). */
  confirmBreaches: number;
}

/** The SLO: p99 above 100 ms or more than 1 % errors breaks a step. */
export const DEFAULT_CAPACITY: CapacitySettings = {
  slo: { p99Ms: 100, maxErrorRate: 0.01 },
  path: '/v1/status',
  startRate: 250,
  maxRate: 64_000,
  stepMs: 3000,
  confirmBreaches: 1,
};

const log = logger('capacity');
const TITLE = 'Stress capacity: the highest arrival rate each edge sustains within the SLO';

/** The faults a scenario holds on an edge for a while (not instant ones: kill, power-loss …). */
export function heldFaults(faults: readonly PlannedFault[], node: string): PlannedFault[] {
  return faults.filter((f) => f.node === node && f.durationMs !== undefined);
}

type EdgeCapacity = CapacityRecord['edges'][number];

export async function capacityStage(
  settings: CapacitySettings,
  a: {
    dep: CampaignDeployment;
    /** The scenario's planned faults: each edge is searched again under those it holds. */
    faults: readonly PlannedFault[];
    runDir: string;
    registry: CleanupRegistry;
    runLog: RunLog;
    progress: Progress | undefined;
    signal: AbortSignal;
  },
): Promise<CapacityRecord> {
  return a.runLog.phase('capacity', a.progress, async () => {
    const edges: CapacityRecord['edges'] = [];
    const search = async (url: string, outDir: string, what: string): Promise<Search> => {
      try {
        const r = await runCapacity({ url, ...settings }, { outDir, registry: a.registry, signal: a.signal });
        log.info(`${what}: ${r.capacity} req/s (limited by ${r.limitedBy})`);
        return { capacity: r.capacity, limitedBy: r.limitedBy, steps: r.steps };
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        log.warn(`${what}: capacity search failed: ${error}`);
        return { steps: [], error };
      }
    };
    for (const e of a.dep.edges) {
      if (a.signal.aborted) break;
      const url = `${e.url}${settings.path}`;
      const edge: EdgeCapacity = {
        node: e.name,
        ...(await search(url, join(a.runDir, 'capacity', e.name), e.name)),
      };
      const held = heldFaults(a.faults, e.name);
      if (held.length && !a.signal.aborted)
        edge.underFaults = {
          faults: held.map((f) => `${f.id} ${f.kind}`),
          ...(await underFaults(held, a, () =>
            search(
              url,
              join(a.runDir, 'capacity', e.name, 'under-faults'),
              `${e.name} under ${held.map((f) => f.kind).join(', ')}`,
            ),
          )),
        };
      edges.push(edge);
    }
    const { slo, path, startRate, maxRate, stepMs, confirmBreaches } = settings;
    return { path, slo, startRate, maxRate, stepMs, confirmBreaches, edges };
  });
}

/**
 * Apply the held faults (journaled, as in the load phase), run the search, revert them last first —
 * on success, failure or abort. A fault that does not apply ends the attempt as the search's error;
 * one that does not revert fails the run (as at heal).
 */
async function underFaults(
  held: readonly PlannedFault[],
  a: { dep: CampaignDeployment; registry: CleanupRegistry; runLog: RunLog; signal: AbortSignal },
  fn: () => Promise<Search>,
): Promise<Search> {
  const applied: Undoable[] = [];
  try {
    for (const f of held) {
      const on = await a.dep.applyFault(faultInput(f), a.registry, a.signal);
      applied.push({ what: `${f.id} ${f.kind} (capacity)`, revert: () => on.revert() });
      a.runLog.event('note', `capacity: ${f.id} ${f.kind} applied again for the search under faults`, f.node);
    }
    return await fn();
  } catch (err) {
    return { steps: [], error: `a fault did not apply: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    await revertLastFirst(applied);
    if (applied.length)
      a.runLog.event(
        'note',
        `capacity: ${applied.length} fault(s) reverted after the search under faults`,
        held[0]!.node,
      );
  }
}

const breachText = {
  p99: 'p99 over the SLO',
  errors: 'errors over the SLO',
  client: 'client could not keep up',
};

/** One search, for people: the rate that held and the first step that did not, with why. */
function describeSearch(e: Search): string {
  if (e.capacity === undefined) return `not measured (${e.error ?? 'no result'})`;
  // the first rate above the capacity that broke (a step re-run that held is not the limit)
  const broke = e.steps.filter((s) => !s.ok && s.rate > e.capacity!).sort((x, y) => x.rate - y.rate)[0];
  const why = broke
    ? `; at ${broke.rate}/s ${breachText[broke.breach ?? 'errors']} (p99 ${broke.p99Ms.toFixed(1)} ms, errors ${(broke.errorRate * 100).toFixed(2)} %)`
    : '';
  return `${e.capacity} req/s (limited by ${e.limitedBy})${why}`;
}

function describeEdge(e: EdgeCapacity): string {
  const under = e.underFaults
    ? `; under ${e.underFaults.faults.map((f) => f.split(' ')[1]).join(', ')}: ${describeSearch(e.underFaults)}`
    : '';
  return `${e.node}: ${describeSearch(e)}${under}`;
}

/**
 * The `stress-capacity` check: a measurement, not a bound (the rubric scores it): passed when every
 * edge was measured, not-measured otherwise (a search that broke is the harness's failure, not the
 * stack's). A search the client limited is reported as such —
 * then the figure is the generator's limit on this machine, a lower bound of the edge's capacity.
 */
export function capacityCheck(c: CapacityRecord, emulated: EmulatedNodes = {}): CheckResult {
  const split = byEmulation(c.edges, (e) => e.node, emulated);
  const capacityMetrics = (edges: CapacityRecord['edges']): CheckResult['metrics'] => {
    const measured = edges.filter((e) => e.capacity !== undefined);
    const metrics: CheckResult['metrics'] = {};
    for (const e of measured)
      metrics[`capacity.${e.node}.rps`] = {
        value: e.capacity!,
        unit: 'req/s',
        source: 'check:stress-capacity',
      };
    // the weakest edge only when every edge was measured (a partial minimum would overstate it)
    if (measured.length && measured.length === edges.length)
      metrics['capacity.min-rps'] = {
        value: Math.min(...measured.map((e) => e.capacity!)),
        unit: 'req/s',
        source: 'check:stress-capacity',
      };
    // under faults: the edges the scenario holds faults on; the weakest only when all were measured
    const faulted = edges.flatMap((e) => (e.underFaults ? [{ node: e.node, ...e.underFaults }] : []));
    for (const e of faulted)
      if (e.capacity !== undefined)
        metrics[`capacity.${e.node}.under-faults-rps`] = {
          value: e.capacity,
          unit: 'req/s',
          source: 'check:stress-capacity',
        };
    if (faulted.length && faulted.every((e) => e.capacity !== undefined))
      metrics['capacity.min-under-faults-rps'] = {
        value: Math.min(...faulted.map((e) => e.capacity!)),
        unit: 'req/s',
        source: 'check:stress-capacity',
      };
    return metrics;
  };
  // an edge under an emulator serves at the emulator's speed: shown as "emulated, not scored"
  const metrics = capacityMetrics(split.native);
  // every search asked for, calm and under faults, has a figure
  const measured = c.edges.filter(
    (e) => e.capacity !== undefined && (!e.underFaults || e.underFaults.capacity !== undefined),
  );
  const slo = `SLO p99 ≤ ${c.slo.p99Ms} ms, errors ≤ ${c.slo.maxErrorRate * 100} %`;
  const result: CheckResult = {
    id: 'stress-capacity',
    title: TITLE,
    status: measured.length > 0 && measured.length === c.edges.length ? 'passed' : 'not-measured',
    summary: `${slo}, GET ${c.path}: ${c.edges.map(describeEdge).join('; ')}`,
    metrics,
    evidence: { capacity: c },
  };
  return withEmulated(
    result,
    emulated,
    split.emulated.map((e) => e.node),
    capacityMetrics(split.emulated),
  );
}
