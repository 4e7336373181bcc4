import { percentile } from '../load/summary.ts';
import type { CheckResult } from './types.ts';
import { medianMetric, notMeasured, notProvided } from './types.ts';

export interface Publication {
  version: number;
  /** ms since load start when the hub accepted the PUT */
  at: number;
  /** per edge: ms after `at` (or after that edge's heal, when it was partitioned then) until it reported the version; undefined = never */
  reached: Record<string, { ms?: number | undefined; afterHeal: boolean }>;
}

/**
 * Downlink: a config published on the hub reaches every edge; partitioned edges get it after heal.
 * A version that never arrives counts as the timeout (a lower bound), so never delivering cannot
 * score better than delivering slowly. `expected`: publications the scenario planned (default: as many as given).
 */
export function checkDownlink(
  pubs: readonly Publication[],
  timeoutMs: number,
  expected = pubs.length,
): CheckResult {
  const title = 'Downlink: published config reaches every edge (partitioned ones after heal)';
  if (expected === 0) return notMeasured('downlink', title, 'the scenario publishes no config');
  if (pubs.length < expected)
    return notProvided(
      'downlink',
      title,
      `the hub accepted ${pubs.length} of the ${expected} config publications the scenario made`,
      { evidence: { publications: pubs } },
    );
  if (pubs.every((p) => Object.keys(p.reached).length === 0))
    return notProvided('downlink', title, 'no edge was watched for a published config', {
      evidence: { publications: pubs },
    });
  const online: number[] = [];
  const healed: number[] = [];
  const missing: string[] = [];
  for (const p of pubs) {
    for (const [node, r] of Object.entries(p.reached)) {
      if (r.ms === undefined) missing.push(`${node}@v${p.version}`);
      (r.afterHeal ? healed : online).push(r.ms ?? timeoutMs);
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
