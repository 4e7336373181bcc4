import { writeFileSync } from 'node:fs';
import { httpsGet, httpsGetBytes } from '../control-plane/https-probe.ts';

/**
 * The kube-scheduler's own view of where a pod's time goes, from its Prometheus histograms
 * (_sum and _count; the same code in both binaries): read before and after a phase, the
 * difference gives that phase's means. Used to tell the scheduler's time from the rest of the
 * create → bound path (apiserver, watch delivery) when the two schedulers' latencies differ.
 */
export interface SchedulerCounters {
  /** scheduler_pod_scheduling_sli_duration_seconds: entered the queue → bound. */
  sli: SumCount;
  /** scheduler_scheduling_algorithm_duration_seconds: filter + score of one attempt. */
  algorithm: SumCount;
  /** scheduler_framework_extension_point_duration_seconds{Bind, Success}: the binding call. */
  bind: SumCount;
  /** rest_client_rate_limiter_duration_seconds{POST}: waits for the client token bucket. */
  limiterPost: SumCount;
  /** process_cpu_seconds_total. */
  cpuSeconds: number;
}

export interface SumCount {
  sum: number;
  count: number;
}

/** Means (ms) over a phase and the scheduler's CPU time in it. */
export interface SchedulerBreakdown {
  /** Pods bound in the phase, per the scheduler. */
  pods: number;
  queueToBoundMs: number;
  algorithmMs: number;
  bindMs: number;
  limiterWaitMs: number;
  /** CPU ms the scheduler process used per pod bound. */
  cpuMsPerPod: number;
}

/** Pure: sum the samples of `name` whose labels contain every `match` (k="v" text). */
function sumCount(text: string, name: string, match: string[] = []): SumCount {
  const out = { sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    for (const part of ['sum', 'count'] as const) {
      const prefix = `${name}_${part}`;
      if (!line.startsWith(prefix)) continue;
      const rest = line.slice(prefix.length);
      if (rest[0] !== '{' && rest[0] !== ' ') continue;
      if (!match.every((m) => rest.includes(m))) continue;
      const v = Number(rest.slice(rest.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) out[part] += v;
    }
  }
  return out;
}

/** Pure: the counters from a /metrics page. */
export function parseSchedulerMetrics(text: string, profile: string): SchedulerCounters {
  const cpu = /^process_cpu_seconds_total (\S+)$/m.exec(text);
  return {
    sli: sumCount(text, 'scheduler_pod_scheduling_sli_duration_seconds'),
    algorithm: sumCount(text, 'scheduler_scheduling_algorithm_duration_seconds'),
    bind: sumCount(text, 'scheduler_framework_extension_point_duration_seconds', [
      'extension_point="Bind"',
      `profile="${profile}"`,
      'status="Success"',
    ]),
    limiterPost: sumCount(text, 'rest_client_rate_limiter_duration_seconds', ['verb="POST"']),
    cpuSeconds: cpu ? Number(cpu[1]) : 0,
  };
}

/** Pure: the means between two readings. */
export function breakdown(a: SchedulerCounters, b: SchedulerCounters): SchedulerBreakdown {
  const mean = (x: SumCount, y: SumCount): number => {
    const n = y.count - x.count;
    return n > 0 ? Math.round(((y.sum - x.sum) / n) * 1e5) / 100 : 0;
  };
  const pods = b.bind.count - a.bind.count;
  return {
    pods,
    queueToBoundMs: mean(a.sli, b.sli),
    algorithmMs: mean(a.algorithm, b.algorithm),
    bindMs: mean(a.bind, b.bind),
    limiterWaitMs: mean(a.limiterPost, b.limiterPost),
    cpuMsPerPod: pods > 0 ? Math.round(((b.cpuSeconds - a.cpuSeconds) * 1e5) / pods) / 100 : 0,
  };
}

/**
 * Pure: the extension points each plugin ran at, "Plugin/ExtensionPoint" sorted, from
 * scheduler_plugin_evaluation_total (counted on every call at PreFilter, Filter, PreScore and
 * Score; the sampled execution-duration histogram drops Score samples at 1,000 nodes). A plugin
 * enabled at Score only never runs its PreScore — the configuration must enable every point the
 * plugin implements.
 */
export function pluginExtensionPoints(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('scheduler_plugin_evaluation_total{')) continue;
    const plugin = /plugin="([^"]*)"/.exec(line)?.[1];
    const point = /extension_point="([^"]*)"/.exec(line)?.[1];
    if (plugin && point && Number(line.slice(line.lastIndexOf(' ') + 1)) > 0) out.add(`${plugin}/${point}`);
  }
  return [...out].sort();
}

/** Read a scheduler's /metrics (bearer token of a user allowed to GET /metrics). */
export async function readSchedulerMetrics(
  port: number,
  token: string,
  profile: string,
): Promise<SchedulerCounters> {
  return parseSchedulerMetrics(await metricsPage(port, token), profile);
}

/** A scheduler's /metrics page. */
async function metricsPage(port: number, token: string): Promise<string> {
  const r = await httpsGet(`https://127.0.0.1:${port}/metrics`, { insecure: true, token, timeoutMs: 10_000 });
  if (r.status !== 200) throw new Error(`GET /metrics on :${port}: HTTP ${r.status}`);
  return r.body;
}

/** pluginExtensionPoints of a running scheduler. */
export async function readPluginExtensionPoints(port: number, token: string): Promise<string[]> {
  return pluginExtensionPoints(await metricsPage(port, token));
}

/**
 * Record a CPU profile of the scheduler on `port` for `seconds` (its /debug/pprof, on by default
 * in kube-scheduler: `enableProfiling`) and write it to `file` (read with `go tool pprof`).
 */
export async function captureCpuProfile(
  port: number,
  token: string,
  seconds: number,
  file: string,
): Promise<void> {
  const r = await httpsGetBytes(`https://127.0.0.1:${port}/debug/pprof/profile?seconds=${seconds}`, {
    insecure: true,
    token,
    timeoutMs: (seconds + 30) * 1000,
  });
  if (r.status !== 200) throw new Error(`GET /debug/pprof/profile on :${port}: HTTP ${r.status}`);
  writeFileSync(file, r.bytes);
}
