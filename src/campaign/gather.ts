import { basename, join } from 'node:path';
import { conform } from '../conform/suite.ts';
import type { LedgerRow } from '../contract/client.ts';
import type { LoadResult } from '../load/run-load.ts';
import type { StackManifest } from '../stack/manifest.ts';
import type { CampaignDeployment } from '../targets/campaign-port.ts';
import { saveLedger, type CampaignEvidence } from './evidence.ts';
import type { Plan } from './plan.ts';
import type { Scenario } from './scenario.ts';
import type { RunClock, RunLog } from './timeline.ts';

/**
 * Gather what the checks judge, from the deployment (still up) and the run so far: uplink counters,
 * cgroup usage, cold starts, a conformance pass, the target's own measurements. Measuring only —
 * the verdicts are `judge`'s. Times are shifted to ms since the load started.
 */
export async function gatherEvidence(a: {
  scenario: Scenario;
  plan: Plan;
  stack: StackManifest;
  runId: string;
  runDir: string;
  dep: CampaignDeployment;
  log: RunLog;
  clock: RunClock;
  load: LoadResult | undefined;
  ledger: readonly LedgerRow[];
  convergeMs: number | undefined;
  nativeConvergeMs?: number | undefined;
  signal: AbortSignal;
}): Promise<CampaignEvidence> {
  const { dep, scenario, clock } = a;
  const rel = (t: number): number => t - clock.loadStart;
  const durations: Record<string, number> = {};
  const timed = async <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      durations[id] = Math.round(performance.now() - t0);
    }
  };
  // Align the load runner's clock with the harness's (both read the same host clock).
  const start = a.load?.samples.find((x) => x.type === 'start');
  const shiftMs = start ? start.epochMs - (clock.t0Epoch + clock.loadStart) : 0;
  const uplinkBytes = await timed('sync-efficiency', async () => {
    const out: Record<string, number> = {};
    for (const e of dep.edges) out[e.name] = await dep.uplinkBytes(e.name);
    return out;
  });
  // A node's cgroup also holds the stressors injected into it: those nodes say nothing about the agent.
  const stressed = [
    ...new Set(
      a.plan.faults.filter((f) => f.kind === 'cpu-stress' || f.kind === 'memory-stress').map((f) => f.node),
    ),
  ];
  const usage = await timed('resources', async () => {
    const out: CampaignEvidence['usage'] = {};
    for (const e of dep.edges)
      if (!stressed.includes(e.name)) {
        const u = await dep.usage(e.name);
        if (u) out[e.name] = { peakRssBytes: u.peakRssBytes, cpuSeconds: u.cpuSeconds };
      }
    return out;
  });
  // A stack whose cold start never answers scores zero on start-up; the other checks still run.
  const cold = await timed('startup', () =>
    dep.coldStarts(scenario.checks.startup.samples, a.signal).then(
      (samples) => ({ samples, failure: undefined }),
      (e: unknown) => {
        if (a.signal.aborted) throw e;
        return { samples: [] as number[], failure: e instanceof Error ? e.message : String(e) };
      },
    ),
  );
  const conformance = scenario.checks.conformance
    ? await timed('conformance', () => {
        const first = dep.edges[0]!;
        return conform({
          edge: first.url,
          hub: dep.hubUrl,
          control: dep.control(first.name),
          patienceMs: 15_000,
        });
      })
    : { disabled: true as const };
  const targetChecks = dep.targetChecks ? await dep.targetChecks(a.signal) : [];
  return {
    version: 1,
    samples: a.load ? { file: join('load', basename(a.load.samplesFile)), shiftMs } : undefined,
    ledgerFile: saveLedger(
      a.runDir,
      a.ledger.filter((r) => r.id.startsWith(`${a.runId}-`)),
    ),
    convergeMs: a.convergeMs,
    ...emulatedEdges(dep, a.nativeConvergeMs),
    convergenceTimeoutMs: a.plan.convergenceTimeoutMs,
    faults: a.log.faults.map((f) => ({
      ...f,
      start: rel(f.start),
      end: f.end === undefined ? undefined : rel(f.end),
    })),
    partitions: a.log.partitions.map((w) => ({ ...w, start: rel(w.start), end: rel(w.end) })),
    restarts: Object.fromEntries(dep.edges.map((e) => [e.name, dep.unplannedExits(e.name)])),
    uplinkBytes,
    usage,
    stressed,
    publicationsPlanned: a.plan.publishAt.length,
    publications: a.log.publications.map((p) => ({ ...p, at: rel(p.at) })),
    coldStartsMs: cold.samples,
    ...(dep.coldStartPath ? { coldStartPath: dep.coldStartPath } : {}),
    ...(dep.runtimes ? { runtimes: { ...dep.runtimes } } : {}),
    ...(cold.failure ? { coldStartError: cold.failure } : {}),
    images: a.stack.images,
    conformance,
    targetChecks,
    limits: {
      offline: scenario.checks.offline,
      syncEfficiency: scenario.checks.syncEfficiency,
      resources: scenario.checks.resources,
      startup: scenario.checks.startup,
      image: scenario.checks.image,
      minAcknowledgedWrites: scenario.checks.minAcknowledgedWrites,
    },
    durations,
    ...(a.load
      ? {
          load: {
            thresholds: a.load.thresholds,
            metrics: Object.fromEntries(Object.entries(a.load.metrics).map(([k, v]) => [k, v.values])),
            ...(a.load.aborted ? { aborted: a.load.aborted } : {}),
          },
        }
      : {}),
  };
}

/** Edges under an emulator (their timing is shown, not scored), and the native edges' convergence. */
function emulatedEdges(
  dep: CampaignDeployment,
  nativeConvergeMs: number | undefined,
): Pick<CampaignEvidence, 'emulated' | 'nativeConvergeMs'> {
  const emulated = Object.fromEntries(dep.edges.flatMap((e) => (e.emulated ? [[e.name, e.emulated]] : [])));
  if (Object.keys(emulated).length === 0) return {};
  return { emulated, ...(nativeConvergeMs !== undefined ? { nativeConvergeMs } : {}) };
}
