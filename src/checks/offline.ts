import { percentile, type HttpSample } from '../load/summary.ts';
import type { CheckResult } from './types.ts';
import {
  byEmulation,
  DEFAULT_MIN_REQUESTS,
  notMeasured,
  notProvided,
  withEmulated,
  type EmulatedNodes,
} from './types.ts';

export interface Window {
  node: string;
  /** ms since load start */
  start: number;
  end: number;
}

export interface OfflineEvidence {
  samples: readonly HttpSample[];
  /** When each node's link to the cloud was cut. */
  partitions: readonly Window[];
  /** Injected downtime (kill until the node answers again, pause): requests then are not held against the edge. */
  outages?: readonly Window[];
  /** Unplanned restarts (exits not caused by an injected kill) of edge processes during the windows. */
  restarts: Record<string, number>;
  minSuccessRate: number;
  /** Fewer requests than this inside the cuts and there is nothing to judge: the check fails (default 20). */
  minRequests?: number;
  /** Edges run under an emulator: their latency is shown, not scored (success rate still counts). */
  emulated?: EmulatedNodes;
}

/** Offline operation: during each edge↔cloud cut, share of that edge's requests that succeed, their p99, no restarts. */
export function checkOffline(e: OfflineEvidence): CheckResult {
  const title = 'Offline operation: the edge keeps serving while its cloud link is cut';
  if (e.partitions.length === 0)
    return notMeasured('offline', title, 'no edge↔cloud partition in this scenario');
  const within = (ws: readonly Window[], node: string | undefined, t: number): boolean =>
    ws.some((w) => node === w.node && t >= w.start && t < w.end);
  const inWindow = e.samples.filter(
    (s) => within(e.partitions, s.node, s.t) && !within(e.outages ?? [], s.node, s.t),
  );
  const min = e.minRequests ?? DEFAULT_MIN_REQUESTS;
  if (inWindow.length < min)
    return notProvided(
      'offline',
      title,
      `${inWindow.length} client request(s) reached a partitioned edge, fewer than the ${min} needed to judge offline operation`,
      { evidence: { windows: e.partitions, excludedOutages: e.outages ?? [], restarts: e.restarts } },
    );
  const ok = inWindow.filter((s) => s.ok).length;
  const rate = ok / inWindow.length;
  const emulated = e.emulated ?? {};
  const split = byEmulation(
    inWindow.filter((s) => s.ok),
    (s) => s.node,
    emulated,
  );
  const p99Of = (xs: readonly HttpSample[]): number =>
    percentile(
      xs.map((s) => s.duration).sort((a, b) => a - b),
      99,
    );
  const p99 = p99Of(split.native);
  const restarts = Object.values(e.restarts).reduce((a, b) => a + b, 0);
  const errors = new Map<string, number>();
  for (const s of inWindow.filter((x) => !x.ok)) {
    const k = s.error ?? `HTTP ${s.status}`;
    errors.set(k, (errors.get(k) ?? 0) + 1);
  }
  const passed = rate >= e.minSuccessRate && restarts === 0;
  const nativeOk = split.native.length;
  const result: CheckResult = {
    id: 'offline',
    title,
    status: passed ? 'passed' : 'failed',
    summary: `${ok}/${inWindow.length} requests to partitioned edges succeeded (${(rate * 100).toFixed(2)}%, need ≥ ${(e.minSuccessRate * 100).toFixed(1)}%), ${nativeOk > 0 ? `p99 ${p99.toFixed(1)} ms` : 'no native p99'}, ${restarts} unplanned restart(s)`,
    metrics: {
      'offline.success-rate': { value: rate, unit: 'ratio', source: 'check:offline' },
      ...(nativeOk > 0 ? { 'offline.p99-ms': { value: p99, unit: 'ms', source: 'check:offline' } } : {}),
      'offline.restarts': { value: restarts, unit: 'restarts', source: 'check:offline' },
      'offline.requests': { value: inWindow.length, unit: 'requests', source: 'check:offline' },
    },
    // Nothing succeeded: there is no latency to score, and "p99 0 ms" must not earn full marks.
    ...(ok === 0
      ? { notProvided: { reason: 'no request to a partitioned edge succeeded', metrics: ['offline.p99-ms'] } }
      : {}),
    evidence: {
      windows: e.partitions,
      excludedOutages: e.outages ?? [],
      errors: Object.fromEntries(errors),
      restarts: e.restarts,
    },
  };
  return withEmulated(
    result,
    emulated,
    split.emulated.map((s) => s.node!),
    split.emulated.length
      ? { 'offline.p99-ms': { value: p99Of(split.emulated), unit: 'ms', source: 'check:offline' } }
      : {},
  );
}
