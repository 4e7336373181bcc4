import { percentile } from '../load/summary.ts';
import type { CheckResult } from './types.ts';
import { medianMetric, notMeasured, notProvided, withEmulated, type EmulatedNodes } from './types.ts';

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
  /** Edges run under an emulator: how fast they took the config is shown, not scored. */
  emulated: EmulatedNodes = {},
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
  const native = { online: [] as number[], healed: [] as number[] };
  const emu = { online: [] as number[], healed: [] as number[] };
  const emuNodes: string[] = [];
  const missing: string[] = [];
  for (const p of pubs) {
    for (const [node, r] of Object.entries(p.reached)) {
      if (r.ms === undefined) missing.push(`${node}@v${p.version}`);
      const into = Object.hasOwn(emulated, node) ? emu : native;
      if (into === emu) emuNodes.push(node);
      (r.afterHeal ? into.healed : into.online).push(r.ms ?? timeoutMs);
    }
  }
  const metricsOf = (t: { online: number[]; healed: number[] }): CheckResult['metrics'] => {
    t.online.sort((a, b) => a - b);
    t.healed.sort((a, b) => a - b);
    const m: CheckResult['metrics'] = {};
    if (t.online.length) m['downlink.propagation-ms'] = medianMetric(t.online, 'ms', 'check:downlink');
    if (t.healed.length) m['downlink.after-heal-ms'] = medianMetric(t.healed, 'ms', 'check:downlink');
    return m;
  };
  const metrics = metricsOf(native);
  const emuMetrics = metricsOf(emu);
  const { online, healed } = native;
  const result: CheckResult = {
    id: 'downlink',
    title,
    status: missing.length === 0 ? 'passed' : 'failed',
    summary:
      missing.length === 0
        ? `every edge took every published version${online.length ? ` (median ${percentile(online, 50)} ms online${healed.length ? `, ${percentile(healed, 50)} ms after heal` : ''})` : ''}`
        : `${missing.length} edge/version pair(s) never arrived within ${timeoutMs} ms: ${missing.slice(0, 5).join(', ')}`,
    metrics,
    evidence: { publications: pubs, missing },
  };
  return withEmulated(result, emulated, emuNodes, emuMetrics);
}
