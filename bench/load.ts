/**
 * Load generators side by side, one run, same loopback target, same machine, interleaved rounds:
 * our runner vs `wrk` and `autocannon` (installed for the benchmark only:
 * `apt-get install -y wrk`, `npm install --no-save autocannon`).
 *
 *   node --import tsx bench/load.ts [--rounds 3] [--seconds 5] [--target agent|node] [--agent <path>]
 *
 * Per round and tool: max requests/s with 64 connections (runner: constant-vus 64), CPU-seconds per
 * 10k requests, and p50/p99 at a fixed 1,000 requests/s (runner: constant-arrival-rate, latency from
 * each arrival's intended start; autocannon: -R 1000, its coordinated-omission correction; wrk has no
 * fixed-rate mode — wrk2 is not packaged — so it is paced with a Lua `delay()` of 64 ms per connection,
 * which measures from the actual send). The target is the reference edge agent (`GET /v1/status`,
 * stack/dist after scripts/bootstrap, or --agent) or, with --target node, a node:http server.
 * CPU: the tool's /proc/<pid>/stat utime+stime sampled every 20 ms until it exits (the runner: its own
 * getrusage between its first and last sample, so tsx start-up is not counted; autocannon: minus the
 * CPU of its own start-up, measured once). Ratios, not absolute speeds, are what to compare.
 * Two floors under the runner run beside them, max rate only (bench/load-floor.ts): `undici-dispatch`,
 * the HTTP engine alone (a handler that does nothing), and `runner-http-layer`, the runner's own HTTP
 * layer without VUs, metrics or samples: they show where the runner's CPU per request goes.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/core/paths.ts';
import type { EngineResult } from '../src/load/engine.ts';
import { forEachSample } from '../src/load/summary.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    target: { type: 'string', default: 'agent' },
    agent: { type: 'string' },
    connections: { type: 'string', default: '64' },
    rate: { type: 'string', default: '1000' },
  },
});
const rounds = Number(args.rounds);
const seconds = Number(args.seconds);
const conns = Number(args.connections);
const fixedRate = Number(args.rate);
const CLK_TCK = 100;

function fail(msg: string): never {
  console.error(`bench load: ${msg}`);
  process.exit(3);
}

const wrkBin = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));
if (!wrkBin) fail('wrk is missing: apt-get install -y wrk');
let autocannonJs: string;
try {
  autocannonJs = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
} catch {
  fail('autocannon is missing: npm install --no-save autocannon');
}

interface Run {
  rps: number;
  requests: number;
  cpuSeconds: number;
  p50?: number;
  p99?: number;
  /** runner only: p99 from each request's actual send (without the wait for the runner, `lag`). */
  p99Sent?: number;
}

/** Spawn argv; sample its CPU (all threads) from /proc until it exits. */
function runMeasured(
  argv: string[],
): Promise<{ stdout: string; stderr: string; cpuSeconds: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let ticks = 0;
    const poll = setInterval(() => {
      try {
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks = Math.max(ticks, Number(f[11]) + Number(f[12]));
      } catch {
        /* exited */
      }
    }, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ stdout, stderr, cpuSeconds: ticks / CLK_TCK, code });
    });
  });
}

async function startTarget(): Promise<{ url: string; stop: () => Promise<void>; what: string }> {
  if (args.target === 'node') {
    const srv = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"node":"bench"}'));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    return {
      url: `http://127.0.0.1:${port}/v1/status`,
      what: 'node:http server',
      stop: () => new Promise((r) => (srv.closeAllConnections(), srv.close(() => r()))),
    };
  }
  const bin = args.agent ?? join(repoRoot, 'stack/dist/bin/linux-amd64/edge-agent');
  if (!existsSync(bin))
    fail(`${bin} is missing: run scripts/bootstrap (or pass --agent <path>, or --target node)`);
  const data = mkdtempSync(join(tmpdir(), 'bench-load-agent-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const agent = spawn(bin, [], {
    env: {
      ...process.env,
      EDGE_NODE_ID: 'edge-bench',
      EDGE_LISTEN: `127.0.0.1:${port}`,
      EDGE_MODE: 'offline',
      EDGE_DATA_DIR: data,
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}/v1/status`;
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    what: `reference edge agent ${bin}`,
    stop: async () => {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

const work = mkdtempSync(join(tmpdir(), 'bench-load-'));
const k6 = (m: string): string => join(repoRoot, 'src/load/k6', m);
function script(name: string, options: string): string {
  const f = join(work, `${name}.ts`);
  writeFileSync(
    f,
    `import http from '${k6('http.ts')}';
export const options = ${options};
export default async function () { await http.get(__ENV.URL); }
`,
  );
  return f;
}
const maxScript = script(
  'max',
  `{ scenarios: { max: { executor: 'constant-vus', vus: ${conns}, duration: '${seconds}s', gracefulStop: '2s' } }, summaryTrendStats: ['p(50)', 'p(99)'] }`,
);
const fixedScript = script(
  'fixed',
  `{ scenarios: { fixed: { executor: 'constant-arrival-rate', rate: ${fixedRate}, timeUnit: '1s', duration: '${seconds}s', preAllocatedVUs: ${conns}, maxVUs: ${conns * 4}, gracefulStop: '2s' } }, summaryTrendStats: ['p(50)', 'p(99)'] }`,
);

async function runner(file: string, url: string): Promise<Run> {
  const out = mkdtempSync(join(work, 'out-'));
  const envFile = join(out, 'env.json');
  writeFileSync(envFile, JSON.stringify({ URL: url }), { mode: 0o600 });
  const r = await runMeasured([
    process.execPath,
    '--import',
    'tsx',
    join(repoRoot, 'src/load/runner.ts'),
    file,
    out,
    envFile,
  ]);
  if (r.code !== 0) fail(`runner exited ${r.code}: ${r.stderr}`);
  const res = JSON.parse(readFileSync(join(out, 'load-result.json'), 'utf8')) as EngineResult;
  let cpu0 = 0;
  let cpu1 = 0;
  const sent: number[] = [];
  forEachSample(join(out, 'samples.jsonl'), (s) => {
    if (s.type === 'start') cpu0 = s.cpuSeconds ?? 0;
    if (s.type === 'end') cpu1 = s.cpuSeconds;
    if (s.type === 'http') sent.push(s.duration - (s.lag ?? 0));
  });
  sent.sort((a, b) => a - b);
  const m = res.data.metrics;
  const requests = m['http_reqs']?.values['count'] ?? 0;
  rmSync(out, { recursive: true, force: true });
  return {
    rps: requests / seconds,
    requests,
    cpuSeconds: cpu1 - cpu0,
    p50: m['http_req_duration']?.values['p(50)'],
    p99: m['http_req_duration']?.values['p(99)'],
    p99Sent: sent[Math.min(sent.length - 1, Math.floor(sent.length * 0.99))],
  };
}

async function wrk(url: string, fixed: boolean): Promise<Run> {
  const argv = [wrkBin!, '-t2', `-c${conns}`, `-d${seconds}s`, '--latency'];
  if (fixed) {
    const lua = join(work, 'pace.lua');
    // each connection waits conns/rate seconds between requests: ~rate requests/s in all
    writeFileSync(lua, `function delay() return ${Math.round((conns / fixedRate) * 1000)} end\n`);
    argv.push('-s', lua);
  }
  argv.push(url);
  const r = await runMeasured(argv);
  if (r.code !== 0) fail(`wrk exited ${r.code}: ${r.stderr}`);
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  const ms = (label: string): number | undefined => {
    const m = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(r.stdout);
    if (!m) return undefined;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0),
    requests: total,
    cpuSeconds: r.cpuSeconds,
    p50: ms('50'),
    p99: ms('99'),
  };
}

let autocannonStartupCpu = 0;
async function autocannon(url: string, fixed: boolean): Promise<Run> {
  const argv = [process.execPath, autocannonJs, '-c', String(conns), '-d', String(seconds), '-j'];
  if (fixed) argv.push('-R', String(fixedRate));
  argv.push(url);
  const r = await runMeasured(argv);
  if (r.code !== 0) fail(`autocannon exited ${r.code}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as {
    requests: { total: number; average: number };
    latency: { p50: number; p99: number };
  };
  return {
    rps: j.requests.total / seconds,
    requests: j.requests.total,
    cpuSeconds: Math.max(0, r.cpuSeconds - autocannonStartupCpu),
    p50: j.latency.p50,
    p99: j.latency.p99,
  };
}

/** The runner's floor (bench/load-floor.ts): undici alone, then the runner's HTTP layer; max only. */
async function floor(mode: 'dispatch' | 'client', url: string): Promise<Run> {
  const r = await runMeasured([
    process.execPath,
    '--import',
    'tsx',
    join(repoRoot, 'bench/load-floor.ts'),
    mode,
    url,
    String(conns),
    String(seconds),
  ]);
  if (r.code !== 0) fail(`load-floor ${mode} exited ${r.code}: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { requests: number; cpuSeconds: number };
  return { rps: j.requests / seconds, requests: j.requests, cpuSeconds: j.cpuSeconds };
}

const tools = {
  runner: (url: string, fixed: boolean) => runner(fixed ? fixedScript : maxScript, url),
  wrk,
  autocannon,
  'undici-dispatch': (url: string) => floor('dispatch', url),
  'runner-http-layer': (url: string) => floor('client', url),
} as const;
type Tool = keyof typeof tools;
/** Tools with a fixed-rate mode (the floors have none). */
const paced: readonly Tool[] = ['runner', 'wrk', 'autocannon'];

const target = await startTarget();
const allTools = Object.keys(tools) as Tool[];
type Runs = { max: Run[]; fixed: Run[] };
const results = Object.fromEntries(allTools.map((t): [Tool, Runs] => [t, { max: [], fixed: [] }])) as Record<
  Tool,
  Runs
>;
try {
  autocannonStartupCpu = (await runMeasured([process.execPath, autocannonJs, '--version'])).cpuSeconds;
  console.log(
    `target: ${target.what}; ${rounds} rounds of ${seconds} s, ${conns} connections; fixed rate ${fixedRate}/s`,
  );
  console.log(`machine: ${await new Promise<string>((r) => execFile('uptime', (_e, o) => r(o.trim())))}`);
  for (let i = 0; i < rounds; i++) {
    // Interleaved, and the order rotates each round, so drift in machine load hits every tool.
    const order = allTools.map((_, k, a) => a[(k + i) % a.length]!);
    for (const fixed of [false, true]) {
      for (const t of order) {
        if (fixed && !paced.includes(t)) continue;
        const r = await tools[t](target.url, fixed);
        results[t][fixed ? 'fixed' : 'max'].push(r);
        console.log(
          `round ${i + 1} ${fixed ? `fixed ${fixedRate}/s` : 'max'} ${t}: ${r.rps.toFixed(0)} req/s, ` +
            `${((r.cpuSeconds / r.requests) * 1e4).toFixed(3)} CPU-s/10k, p50 ${r.p50?.toFixed(2)} ms, p99 ${r.p99?.toFixed(2)} ms` +
            (r.p99Sent !== undefined ? ` (from the send: ${r.p99Sent.toFixed(2)} ms)` : ''),
        );
      }
    }
  }
} finally {
  await target.stop();
  rmSync(work, { recursive: true, force: true });
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const mmm = (xs: number[], d = 0): string =>
  `${Math.min(...xs).toFixed(d)} / ${med(xs).toFixed(d)} / ${Math.max(...xs).toFixed(d)}`;
console.log(
  '\n| tool | max req/s (min/med/max) | CPU-s per 10k req | p50 at fixed rate, ms | p99 at fixed rate, ms |',
);
console.log('|---|---|---|---|---|');
for (const t of allTools) {
  const r = results[t];
  // the floors have no fixed-rate runs
  const fixedCol = (k: 'p50' | 'p99'): string =>
    r.fixed.length
      ? mmm(
          r.fixed.map((x) => x[k] ?? NaN),
          2,
        )
      : '–';
  console.log(
    `| ${t} | ${mmm(r.max.map((x) => x.rps))} | ${mmm(
      r.max.map((x) => (x.cpuSeconds / x.requests) * 1e4),
      3,
    )} | ${fixedCol('p50')} | ${fixedCol('p99')} |`,
  );
}
// Ratios per round (the tools of a round ran back to back), then min / median / max over the rounds.
const rr = results.runner;
const per = (f: (i: number) => number): string =>
  mmm(
    rr.max.map((_, i) => f(i)),
    2,
  );
const cpuOf = (x: Run): number => x.cpuSeconds / x.requests;
const fx = (t: Tool, i: number, k: 'p99' | 'p99Sent' = 'p99'): number => results[t].fixed[i]?.[k] ?? NaN;
console.log(
  `\nper-round ratios (min / median / max of ${rounds}), machine ${await new Promise<string>((r) => execFile('uptime', (_e, o) => r(o.trim())))}`,
);
console.log(
  `runner/wrk req/s:                 ${per((i) => rr.max[i]!.rps / results.wrk.max[i]!.rps)} (goal ≥ 0.5)`,
);
console.log(
  `runner/wrk CPU per request:       ${per((i) => cpuOf(rr.max[i]!) / cpuOf(results.wrk.max[i]!))} (goal ≤ 3)`,
);
console.log(
  `runner/autocannon req/s:          ${per((i) => rr.max[i]!.rps / results.autocannon.max[i]!.rps)}`,
);
console.log(
  `runner/autocannon CPU per request: ${per((i) => cpuOf(rr.max[i]!) / cpuOf(results.autocannon.max[i]!))}`,
);
// Where the runner's CPU goes: the HTTP engine alone, its own HTTP layer, then VUs + k6 metrics +
// samples + AsyncLocalStorage (the whole runner).
console.log(
  `undici-dispatch/autocannon CPU per request (the HTTP engine alone): ${per((i) => cpuOf(results['undici-dispatch'].max[i]!) / cpuOf(results.autocannon.max[i]!))}`,
);
console.log(
  `runner-http-layer/undici-dispatch CPU per request: ${per((i) => cpuOf(results['runner-http-layer'].max[i]!) / cpuOf(results['undici-dispatch'].max[i]!))}`,
);
console.log(
  `runner/undici-dispatch CPU per request: ${per((i) => cpuOf(rr.max[i]!) / cpuOf(results['undici-dispatch'].max[i]!))}`,
);
console.log(
  `p99 at ${fixedRate}/s, from the send (runner without lag vs wrk Lua-paced, both uncorrected): ${per((i) => fx('runner', i, 'p99Sent') / fx('wrk', i))} (goal ≤ 1.5)`,
);
console.log(
  `p99 at ${fixedRate}/s, runner from the intended start (corrected) vs autocannon -R: ${per((i) => fx('runner', i) / fx('autocannon', i))}`,
);
