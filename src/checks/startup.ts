import { percentile } from '../load/summary.ts';
import { medianMetric, notProvided, type CheckResult } from './types.ts';

/**
 * Start-up: process start → first 200 from /healthz, median of N cold starts (fresh data dir each).
 * No answered cold start (`failure`: why the cold starts stopped) scores zero, never "not measured".
 */
export function checkStartup(
  samplesMs: readonly number[],
  gateMs: number,
  failure?: string,
  path?: 'container' | 'process',
): CheckResult {
  // the ssh target says what each sample started: `runc run` of the cached rootfs, or the process
  const as = path === 'container' ? ' as runc containers' : path === 'process' ? ' as processes' : '';
  const title = 'Start-up: cold start → first 200 on /healthz';
  const s = [...samplesMs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0)
    return notProvided(
      'startup',
      title,
      `no cold start answered on the health endpoint${failure ? `: ${failure}` : ''}`,
      { evidence: { samplesMs: [...samplesMs], ...(failure ? { failure } : {}) } },
    );
  const med = percentile(s, 50);
  return {
    id: 'startup',
    title,
    status: med <= gateMs ? 'passed' : 'failed',
    summary: `median ${med.toFixed(1)} ms over ${s.length} cold starts${as} (min ${s[0]?.toFixed(1)}, max ${s[s.length - 1]?.toFixed(1)}; limit ${gateMs} ms)`,
    metrics: {
      'startup.edge-agent.median-ms': medianMetric(s, 'ms', 'check:startup'),
    },
    evidence: { samplesMs: s, ...(path ? { path } : {}) },
  };
}
