import { join } from 'node:path';
import type { CleanupRegistry } from '../core/cleanup/registry.ts';
import { logger } from '../core/logger.ts';
import { byEmulation, withEmulated, type CheckResult, type EmulatedNodes } from '../checks/types.ts';
import { runCapacity, type Slo } from '../load/capacity.ts';
import type { CapacityRecord } from '../record/schema.ts';
import type { CampaignDeployment } from '../targets/campaign-port.ts';
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

export async function capacityStage(
  settings: CapacitySettings,
  a: {
    dep: CampaignDeployment;
    runDir: string;
    registry: CleanupRegistry;
    runLog: RunLog;
    progress: Progress | undefined;
    signal: AbortSignal;
  },
): Promise<CapacityRecord> {
  return a.runLog.phase('capacity', a.progress, async () => {
    const edges: CapacityRecord['edges'] = [];
    for (const e of a.dep.edges) {
      if (a.signal.aborted) break;
      try {
        const r = await runCapacity(
          { url: `${e.url}${settings.path}`, ...settings },
          { outDir: join(a.runDir, 'capacity', e.name), registry: a.registry, signal: a.signal },
        );
        edges.push({ node: e.name, capacity: r.capacity, limitedBy: r.limitedBy, steps: r.steps });
        log.info(`${e.name}: ${r.capacity} req/s (limited by ${r.limitedBy})`);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        edges.push({ node: e.name, steps: [], error });
        log.warn(`${e.name}: capacity search failed: ${error}`);
      }
    }
    const { slo, path, startRate, maxRate, stepMs, confirmBreaches } = settings;
    return { path, slo, startRate, maxRate, stepMs, confirmBreaches, edges };
  });
}

const breachText = {
  p99: 'p99 over the SLO',
  errors: 'errors over the SLO',
  client: 'client could not keep up',
};

/** One edge, for people: the rate that held and the first step that did not, with why. */
function describeEdge(e: CapacityRecord['edges'][number]): string {
  if (e.capacity === undefined) return `${e.node}: not measured (${e.error ?? 'no result'})`;
  // the first rate above the capacity that broke (a step re-run that held is not the limit)
  const broke = e.steps.filter((s) => !s.ok && s.rate > e.capacity!).sort((x, y) => x.rate - y.rate)[0];
  const why = broke
    ? `; at ${broke.rate}/s ${breachText[broke.breach ?? 'errors']} (p99 ${broke.p99Ms.toFixed(1)} ms, errors ${(broke.errorRate * 100).toFixed(2)} %)`
    : '';
  return `${e.node}: ${e.capacity} req/s (limited by ${e.limitedBy})${why}`;
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
    return metrics;
  };
  // an edge under an emulator serves at the emulator's speed: shown as "emulated, not scored"
  const metrics = capacityMetrics(split.native);
  const measured = c.edges.filter((e) => e.capacity !== undefined);
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
