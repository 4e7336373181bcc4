/**
 * The load runner process: `node --import tsx src/load/runner.ts <script.ts> <out.jsonl> <env.json>`.
 * Runs every scenario of the script concurrently and streams one JSON line per sample to out.jsonl.
 * SIGTERM/SIGINT: stop starting iterations, let in-flight ones finish (bounded), exit 0.
 */
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseDuration } from '../core/duration.ts';
import { httpRequest } from './http-client.ts';
import { seededRandom } from './rng.ts';
import { arrivalTimes, scenarioDuration } from './schedule.ts';
import type {
  HttpResponse,
  IterationContext,
  LoadDefinition,
  RequestParams,
  Sample,
  ScenarioOptions,
} from './types.ts';

const [scriptArg, outArg, envArg] = process.argv.slice(2);
if (!scriptArg || !outArg) {
  process.stderr.write('usage: runner.ts <script.ts> <out.jsonl> [env.json]\n');
  process.exit(2);
}
const env = envArg ? (JSON.parse(envArg) as Record<string, string>) : {};
// The script's top level (its scenario options) may read the run's env, like k6's __ENV.
Object.assign(process.env, env);
const out = createWriteStream(outArg);
const t0 = performance.now();
const now = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
const emit = (s: Sample): void => void out.write(JSON.stringify(s) + '\n');
emit({ type: 'start', t: 0, epochMs: Date.now() - (performance.now() - t0) });
const stop = new AbortController();
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => stop.abort());

const mod = (await import(pathToFileURL(resolve(scriptArg)).href)) as { default?: LoadDefinition };
const def = mod.default;
if (!def || typeof def !== 'object' || !def.scenarios || !def.exec) {
  process.stderr.write(`${scriptArg}: default export must be defineLoad({ scenarios, exec })\n`);
  process.exit(2);
}
const rand = seededRandom(Number(env['SEED'] ?? 1));

function makeContext(
  scenario: string,
  iteration: number,
  baseTags: Record<string, string>,
): IterationContext {
  const call = async (
    method: string,
    url: string,
    body: unknown,
    params: RequestParams = {},
  ): Promise<HttpResponse & { notSent: boolean; tStart: number }> => {
    const tStart = now();
    const res = await httpRequest(
      method,
      url,
      body === undefined ? undefined : JSON.stringify(body),
      params.headers ?? {},
      params.timeoutMs ?? 5000,
    );
    const tags = { ...baseTags, ...params.tags };
    emit({
      type: 'http',
      t: tStart,
      scenario,
      method,
      name: tags['name'] ?? url,
      ...(tags['node'] ? { node: tags['node'] } : {}),
      status: res.status,
      ok: res.status >= 200 && res.status < 400,
      duration: Math.round(res.timings.duration * 1000) / 1000,
      ...(res.error ? { error: res.error } : {}),
    });
    return { ...res, tStart };
  };
  return {
    env,
    scenario,
    iteration,
    random: rand,
    check: (name, ok) => {
      emit({ type: 'check', t: now(), scenario, name, ok });
      return ok;
    },
    http: {
      get: (url, p) => call('GET', url, undefined, p),
      post: (url, body, p) => call('POST', url, body, p),
      put: (url, body, p) => call('PUT', url, body, p),
      write: async (url, record, body, p) => {
        const res = await call('POST', url, body, {
          ...p,
          tags: { name: 'write', node: record.node, ...p?.tags },
        });
        const outcome =
          res.status >= 200 && res.status < 300
            ? 'ok'
            : res.notSent || (res.status >= 400 && res.status < 500)
              ? 'failed'
              : 'indeterminate';
        emit({
          type: 'write',
          t: res.tStart,
          tDone: now(),
          id: record.id,
          node: record.node,
          payloadBytes: record.payloadBytes,
          outcome,
          status: res.status,
        });
        return res;
      },
    },
  };
}

async function runScenario(name: string, s: ScenarioOptions): Promise<void> {
  const fn = def!.exec[s.exec];
  if (!fn) throw new Error(`scenario ${name}: exec "${s.exec}" is not in exec`);
  const start = s.startTime ? parseDuration(s.startTime) : 0;
  const wait = (ms: number): Promise<void> =>
    new Promise((r) => {
      if (ms <= 0 || stop.signal.aborted) return r();
      const t = setTimeout(r, ms);
      stop.signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
    });
  await wait(start - (performance.now() - t0));
  const scenStart = performance.now();
  const tags = s.tags ?? {};
  let iteration = 0;
  const inflight = new Set<Promise<void>>();
  const launch = (): void => {
    const p = Promise.resolve()
      .then(() => fn(makeContext(name, iteration++, tags)))
      .catch((e: unknown) =>
        emit({
          type: 'check',
          t: now(),
          scenario: name,
          name: `iteration error: ${e instanceof Error ? e.message : String(e)}`,
          ok: false,
        }),
      )
      .finally(() => inflight.delete(p));
    inflight.add(p);
  };
  if (s.executor === 'constant-vus') {
    const end = scenStart + parseDuration(s.duration);
    await Promise.all(
      Array.from({ length: s.vus }, async () => {
        while (!stop.signal.aborted && performance.now() < end)
          await fn(makeContext(name, iteration++, tags));
      }),
    );
    return;
  }
  const max = s.maxInFlight ?? 256;
  for (const at of arrivalTimes(s)) {
    if (stop.signal.aborted) break;
    await wait(at - (performance.now() - scenStart));
    if (stop.signal.aborted) break;
    if (inflight.size >= max) emit({ type: 'dropped', t: now(), scenario: name });
    else launch();
  }
  await wait(scenarioDuration(s) - (performance.now() - scenStart));
  await Promise.race([Promise.all(inflight), new Promise((r) => setTimeout(r, 10_000))]);
}

await Promise.all(Object.entries(def.scenarios).map(([n, s]) => runScenario(n, s)));
const cpu = process.cpuUsage();
emit({ type: 'end', t: now(), cpuSeconds: (cpu.user + cpu.system) / 1e6 });
await new Promise<void>((r) => out.end(r));
process.exit(0);
