import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnRegistered, type CleanupRegistry } from '../core/cleanup/registry.ts';
import { TargetError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';
import { resetRuntime, runScript } from './engine.ts';
import http from './k6/http.ts';
import { runtime } from './runtime.ts';
import type { LoadScript } from './types.ts';

/**
 * Capacity search (the building block of `--find-capacity`): raise the arrival rate until the SLO
 * breaks, then bisect between the last rate that held and the first that did not, and report the
 * highest sustained rate. A step holds when p99 ≤ slo.p99Ms, the error rate ≤ slo.maxErrorRate, and
 * the client really offered the rate (dropped iterations ≤ 1 %: otherwise the load generator, not
 * the target, was the limit — reported as such, never as the target's capacity; so is a p99 breach
 * that the runner's own lateness explains).
 */
export interface Slo {
  /** p99 latency bound, ms (measured from each arrival's intended start: coordinated omission). */
  p99Ms: number;
  /** Error-rate bound as a fraction (0.01 = 1 %). */
  maxErrorRate: number;
}

/** What one step at a fixed arrival rate measured. */
export interface StepMeasure {
  /** Requests answered or failed (not dropped). */
  requests: number;
  /** Arrivals the client could not start (no free VU). */
  dropped: number;
  p99Ms: number;
  errorRate: number;
  /**
   * p99 of how late the runner started each arrival, ms. When a step breaks the p99 bound while this
   * alone is over half of it, the runner (descheduled on a loaded machine), not the target, made the
   * latency: the breach is the client's.
   */
  lagP99Ms?: number;
}

export interface StepResult extends StepMeasure {
  rate: number;
  ok: boolean;
  /** Why the step did not hold: 'p99', 'errors', 'client' (the generator could not keep up). */
  breach?: 'p99' | 'errors' | 'client';
}

export interface CapacityOptions {
  slo: Slo;
  /** First rate tried, requests/s. */
  startRate: number;
  /** Never go above this rate (requests/s). */
  maxRate: number;
  /** Length of each step, ms. */
  stepMs: number;
  /** Rate multiplier while everything holds (default 2). */
  growth?: number;
  /** Stop bisecting when the bracket is narrower than this fraction of the failing rate (default 0.05). */
  resolution?: number;
  /**
   * Re-run a step that did not hold up to this many times; it breaks only if every run did
   * (default 0). On a shared machine one descheduled second can push a step's
   * p99 over the bound and end the search at a fraction of the capacity.
   */
  confirmBreaches?: number;
  /** Run one step: offer `rate` requests/s for `ms` and measure (injected in unit tests). */
  probe: (rate: number, ms: number) => Promise<StepMeasure>;
  onStep?: (s: StepResult) => void;
}

export interface CapacityResult {
  /** Highest rate that held (below startRate if that broke; 0 if nothing down to ~1 req/s held). */
  capacity: number;
  /** What ended the search: the SLO broke, the client could not keep up, or maxRate was reached. */
  limitedBy: 'slo' | 'client' | 'maxRate';
  steps: StepResult[];
}

export function judgeStep(rate: number, m: StepMeasure, slo: Slo): StepResult {
  const offered = m.requests + m.dropped;
  const breach: StepResult['breach'] =
    offered > 0 && m.dropped / offered > 0.01
      ? 'client'
      : m.errorRate > slo.maxErrorRate
        ? 'errors'
        : m.p99Ms > slo.p99Ms
          ? (m.lagP99Ms ?? 0) > slo.p99Ms / 2
            ? 'client'
            : 'p99'
          : m.requests === 0
            ? 'errors'
            : undefined;
  return { rate, ...m, ok: breach === undefined, ...(breach ? { breach } : {}) };
}

export async function findCapacity(o: CapacityOptions): Promise<CapacityResult> {
  if (!(o.startRate > 0) || !(o.maxRate >= o.startRate))
    throw new RangeError('need 0 < startRate <= maxRate');
  const growth = o.growth ?? 2;
  const resolution = o.resolution ?? 0.05;
  const steps: StepResult[] = [];
  const step = async (rate: number): Promise<StepResult> => {
    for (let tries = 0; ; tries++) {
      const r = judgeStep(rate, await o.probe(rate, o.stepMs), o.slo);
      steps.push(r);
      o.onStep?.(r);
      if (r.ok || tries >= (o.confirmBreaches ?? 0)) return r;
    }
  };
  let good = 0;
  let bad: StepResult | undefined;
  for (let rate = o.startRate; ; rate = Math.min(o.maxRate, rate * growth)) {
    const r = await step(rate);
    if (!r.ok) {
      bad = r;
      break;
    }
    good = rate;
    if (rate >= o.maxRate) return { capacity: good, limitedBy: 'maxRate', steps };
  }
  let hi = bad.rate;
  let limit: StepResult = bad;
  while (hi - good > resolution * hi && hi - good >= 1) {
    const mid = Math.round((good + hi) / 2);
    if (mid <= good || mid >= hi) break;
    const r = await step(mid);
    if (r.ok) good = mid;
    else {
      hi = mid;
      limit = r;
    }
  }
  return { capacity: good, limitedBy: limit.breach === 'client' ? 'client' : 'slo', steps };
}

/**
 * A real probe: constant-arrival-rate GETs (or POSTs of `body`) to `url` for `ms`, run by the load
 * engine in this process. Use it in a process of its own (the engine is one test per process).
 */
export function httpProbe(
  url: string,
  opts: { method?: 'GET' | 'POST'; body?: string; maxVUs?: number } = {},
) {
  return async (rate: number, ms: number): Promise<StepMeasure> => {
    resetRuntime();
    const lag = runtime.registry.declare('probe_lag', 'trend', true);
    const mod: LoadScript = {
      options: {
        scenarios: {
          probe: {
            executor: 'constant-arrival-rate',
            rate,
            timeUnit: '1s',
            duration: `${ms}ms`,
            preAllocatedVUs: Math.min(opts.maxVUs ?? 1000, Math.max(10, Math.ceil(rate / 20))),
            maxVUs: opts.maxVUs ?? 1000,
            gracefulStop: '2s',
          },
        },
        summaryTrendStats: ['p(99)'],
      },
      default: async () => {
        const st = runtime.current();
        if (st) lag.add(performance.now() - st.intendedStart, undefined);
        await http.request(opts.method ?? 'GET', url, opts.body, { timeout: '5s' });
      },
    };
    const res = await runScript(mod, { file: 'capacity-probe', log: () => undefined });
    const v = (m: string, k: string): number => res.data.metrics[m]?.values[k] ?? 0;
    return {
      requests: v('http_reqs', 'count'),
      dropped: res.droppedIterations,
      p99Ms: v('http_req_duration', 'p(99)'),
      errorRate: v('http_req_failed', 'rate'),
      lagP99Ms: v('probe_lag', 'p(99)'),
    };
  };
}

/** What `runCapacity` (and capacity-runner.ts) search: one URL, loopback or a namespace the run made. */
export interface CapacitySearch {
  url: string;
  method?: 'GET' | 'POST';
  body?: string;
  slo: Slo;
  startRate: number;
  maxRate: number;
  stepMs: number;
  /** See CapacityOptions.confirmBreaches. */
  confirmBreaches?: number;
}

/**
 * Run a capacity search in its own process (registered for cleanup, like the load runner): the
 * building block of `edgechaos run --find-capacity`. The log (one line per step) is
 * <outDir>/capacity.log, the result <outDir>/capacity.json.
 */
export async function runCapacity(
  search: CapacitySearch,
  o: { outDir: string; registry: CleanupRegistry; signal?: AbortSignal },
): Promise<CapacityResult> {
  mkdirSync(o.outDir, { recursive: true });
  const config = join(o.outDir, 'capacity-config.json');
  const out = join(o.outDir, 'capacity.json');
  writeFileSync(config, JSON.stringify(search), { mode: 0o600 });
  const argv = [
    process.execPath,
    '--import',
    'tsx',
    join(repoRoot, 'src/load/capacity-runner.ts'),
    config,
    out,
  ];
  const { proc, handle } = await spawnRegistered(o.registry, `capacity search ${search.url}`, argv, {
    logFile: join(o.outDir, 'capacity.log'),
    cwd: repoRoot,
  });
  const onAbort = (): void => void proc.stop(10_000);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const exit = await proc.exited;
  o.signal?.removeEventListener('abort', onAbort);
  handle.forget();
  if (exit.code !== 0 || !existsSync(out))
    throw new TargetError(`capacity search exited with ${exit.code ?? exit.signal}; see ${proc.logFile}`);
  return JSON.parse(readFileSync(out, 'utf8')) as CapacityResult;
}
