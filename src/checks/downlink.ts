import { percentile } from '../load/summary.ts';
import type { CheckResult } from './types.ts';
import { medianMetric, notMeasured } from './types.ts';

export interface Publication {
  version: number;
  /** ms since load start when the hub accepted the PUT */
  at: number;
  /** per edge: ms after `at` (or after that edge's heal, when it was partitioned then) until it reported the version; undefined = never */
  reached: Record<string, { ms: number | undefined; afterHeal: boolean }>;
}

/** Downlink: a config published on the hub reaches every edge; partitioned edges get it after heal. */
export function checkDownlink(pubs: readonly Publication[], timeoutMs: number): CheckResult {
  const title = 'Downlink: published config reaches every edge (partitioned ones after heal)';
  if (pubs.length === 0) return notMeasured('downlink', title, 'the scenario publishes no config');
  const online: number[] = [];
  const healed: number[] = [];
  const missing: string[] = [];
  for (const p of pubs) {
    for (const [node, r] of Object.entries(p.reached)) {
      if (r.ms === undefined) missing.push(`${node}@v${p.version}`);
      else (r.afterHeal ? healed : online).push(r.ms);
    }
  }
  online.sort((a, b) => a - b);
  healed.sort((a, b) => a - b);
  const metrics: CheckResult['metrics'] = {};
  if (online.length) metrics['downlink.propagation-ms'] = medianMetric(online, 'ms', 'check:downlink');
  if (healed.length) metrics['downlink.after-heal-ms'] = medianMetric(healed, 'ms', 'check:downlink');
  return {
    id: 'downlink',
    title,
    status: missing.length === 0 ? 'passed' : 'failed',
    summary:
      missing.length === 0
        ? `every edge took every published version (median ${percentile(online, 50)} ms online${healed.length ? `, ${percentile(healed, 50)} ms after heal` : ''})`
        : `${missing.length} edge/version pair(s) never arrived within ${timeoutMs} ms: ${missing.slice(0, 5).join(', ')}`,
    metrics,
    evidence: { publications: pubs, missing },
  };
}
