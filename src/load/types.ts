/**
 * The load-script API. A load script is a TypeScript module in scenarios/load/ whose default export
 * is `defineLoad({...})`: named scenarios (executor + rate/VUs + duration) and the iteration
 * functions they run. The shape follows k6's executors (constant-arrival-rate, ramping-arrival-rate,
 * constant-vus) so k6 users feel at home.
 */
export interface Stage {
  /** Iterations per `timeUnit` (arrival-rate) at the end of the stage. */
  target: number;
  duration: string;
}

export type ScenarioOptions =
  | {
      executor: 'constant-arrival-rate';
      rate: number;
      timeUnit?: string;
      duration: string;
      /** Upper bound of concurrent iterations; an arrival beyond it is counted as dropped. */
      maxInFlight?: number;
      exec: string;
      startTime?: string;
      tags?: Record<string, string>;
    }
  | {
      executor: 'ramping-arrival-rate';
      startRate?: number;
      timeUnit?: string;
      stages: Stage[];
      maxInFlight?: number;
      exec: string;
      startTime?: string;
      tags?: Record<string, string>;
    }
  | {
      executor: 'constant-vus';
      vus: number;
      duration: string;
      exec: string;
      startTime?: string;
      tags?: Record<string, string>;
    };

export interface HttpResponse {
  status: number;
  body: string;
  /** Parsed JSON body, or undefined when it is not JSON. */
  json<T = unknown>(): T | undefined;
  timings: { duration: number };
  /** Error text when no HTTP answer came (connection refused/reset, timeout). */
  error?: string;
}

export interface RequestParams {
  /** Tags recorded with the sample: `name` groups URLs; `node` names the target node. */
  tags?: Record<string, string>;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface WriteRecord {
  id: string;
  node: string;
  payloadBytes: number;
}

export interface IterationContext {
  /** Environment given to the run (targets, run id, seed...). */
  env: Record<string, string>;
  scenario: string;
  /** Iteration number within this scenario (0-based). */
  iteration: number;
  /** Deterministic per-run random in [0,1) (seeded by env.SEED). */
  random(): number;
  http: {
    get(url: string, params?: RequestParams): Promise<HttpResponse>;
    post(url: string, body: unknown, params?: RequestParams): Promise<HttpResponse>;
    put(url: string, body: unknown, params?: RequestParams): Promise<HttpResponse>;
    /**
     * POST a write and record it in the client-side write history (id, node, invoke time, outcome:
     * ok / failed / indeterminate) — the sync checks trust this history, never the stack's word.
     */
    write(url: string, record: WriteRecord, body: unknown, params?: RequestParams): Promise<HttpResponse>;
  };
  /** Record a pass/fail check (like k6 `check`). */
  check(name: string, ok: boolean): boolean;
}

export type IterationFn = (ctx: IterationContext) => Promise<void> | void;

export interface LoadDefinition {
  scenarios: Record<string, ScenarioOptions>;
  /** Iteration functions named by each scenario's `exec`. */
  exec: Record<string, IterationFn>;
}

export function defineLoad(def: LoadDefinition): LoadDefinition {
  return def;
}

/** One line of the results stream (JSON lines, like `k6 --out json`). */
export type Sample =
  | {
      type: 'http';
      /** ms since the run started (monotonic). */
      t: number;
      scenario: string;
      method: string;
      name: string;
      node?: string;
      status: number;
      ok: boolean;
      duration: number;
      error?: string;
    }
  | {
      type: 'write';
      t: number;
      tDone: number;
      id: string;
      node: string;
      payloadBytes: number;
      outcome: 'ok' | 'failed' | 'indeterminate';
      status: number;
    }
  | { type: 'check'; t: number; scenario: string; name: string; ok: boolean }
  | { type: 'dropped'; t: number; scenario: string }
  /** First line: the runner's clock origin (t = 0) as wall-clock ms, so samples can be aligned with the harness's timeline. */
  | { type: 'start'; t: 0; epochMs: number }
  /** Last line: the runner's own CPU use, to compare with the harness's. */
  | { type: 'end'; t: number; cpuSeconds: number };
