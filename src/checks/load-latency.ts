import { percentile, type HttpSample } from '../load/summary.ts';
import { byEmulation, withEmulated, type CheckResult, type EmulatedNodes } from './types.ts';

const latencyMetrics = ['load.http_req_duration.p95', 'load.http_req_duration.p99'] as const;

function latencyOf(samples: readonly HttpSample[]): CheckResult['metrics'] {
  if (samples.length === 0) return {};
  const d = samples.map((s) => s.duration).sort((a, b) => a - b);
  const m = (p: number) => ({ value: percentile(d, p), unit: 'ms', source: 'check:load-thresholds' });
  return { [latencyMetrics[0]]: m(95), [latencyMetrics[1]]: m(99) };
}

/**
 * The load check's request-latency percentiles when some edges ran under an emulator: k6's
 * end-of-test aggregate mixes them in, so the scored p95/p99 are taken from the native edges'
 * samples (every request, failed ones too, as k6's http_req_duration) and the emulated edges' own
 * p95/p99 are shown as "emulated, not scored". Unchanged when no emulated edge was sampled.
 */
export function nativeLoadLatency(
  c: CheckResult,
  http: readonly HttpSample[],
  emulated: EmulatedNodes,
): CheckResult {
  const split = byEmulation(http, (s) => s.node, emulated);
  if (split.emulated.length === 0) return c;
  const metrics = Object.fromEntries(
    Object.entries(c.metrics).filter(([k]) => !(latencyMetrics as readonly string[]).includes(k)),
  );
  return withEmulated(
    {
      ...c,
      metrics: { ...metrics, ...latencyOf(split.native) },
      evidence: {
        ...c.evidence,
        latency: `p95/p99 from the ${split.native.length} samples of native edges (k6's aggregate includes the emulated edges)`,
      },
    },
    emulated,
    split.emulated.map((s) => s.node!),
    latencyOf(split.emulated),
  );
}
