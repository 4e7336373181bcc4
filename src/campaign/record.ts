import type { CheckResult } from '../checks/types.ts';
import type { CampaignEvidence } from './evidence.ts';
import type { LatencyStats, LoadSummary } from '../load/summary.ts';
import type { Metrics, ScoreResult } from '../scoring/types.ts';

export interface TimelineEvent {
  /** ms since the start of the load phase (negative during deploy/warm-up) */
  t: number;
  kind: 'phase' | 'fault-on' | 'fault-off' | 'process-exit' | 'process-start' | 'config-publish' | 'note';
  node?: string;
  text: string;
}

export interface FaultRecord {
  id: string;
  kind: string;
  node: string;
  params: Record<string, unknown>;
  /** ms since load start */
  start: number;
  end: number | undefined;
  error?: string;
}

export interface LoadWindow {
  name: string;
  node?: string;
  /** ms since load start */
  start: number;
  end: number;
  stats: LatencyStats;
}

export interface SeriesPoint {
  t: number;
  v: number;
}

/** Everything about one campaign run: `edgechaos score` and `edgechaos report` work from this alone. */
export interface RunRecord {
  schema: 'edgechaos.run/v1';
  runId: string;
  scenario: { name: string; file: string; description: string };
  seed: number;
  target: { kind: string };
  stack: { name: string; version: string; file: string };
  rubric: { file: string; name: string; version: string };
  startedAt: string;
  endedAt: string;
  nodes: { name: string; role: 'edge' | 'cloud'; profile: string }[];
  phases: { name: string; start: number; end: number }[];
  timeline: TimelineEvent[];
  faults: FaultRecord[];
  load: {
    script: string;
    summary: LoadSummary | undefined;
    samplesFile: string | undefined;
    /** Latency and errors per window: the baseline (no fault active) and each fault, on its node. */
    windows?: LoadWindow[];
  };
  /** Time series sampled by the harness: pending records, cgroup CPU and memory per edge. */
  series: {
    pending: Record<string, SeriesPoint[]>;
    cpu: Record<string, SeriesPoint[]>;
    memory: Record<string, SeriesPoint[]>;
  };
  checks: CheckResult[];
  metrics: Metrics;
  score: ScoreResult;
  /** CPU the harness process itself used while the load ran (the load runner is a separate process). */
  harness: { cpuSeconds: number; wallSeconds: number; shareOfOneCore: number } | undefined;
  /** What the checks judged (large parts as files of the run dir): `edgechaos score` judges it again. */
  evidence?: CampaignEvidence;
  /** The run was interrupted (Ctrl-C): it is judged and scored on nothing. */
  interrupted?: boolean;
  gatesPassed: boolean;
  error?: string;
}
