/**
 * Three examples from k6's documentation, run by our runner. Each differs from the documented script
 * only by: the imports (our k6 modules), `await` before http calls and sleep (async functions), the
 * URLs (a loopback test server) and durations scaled down to seconds.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { runLoad } from '../../src/load/run-load.ts';
import type { HttpSample } from '../../src/load/summary.ts';
import type { SummaryData } from '../../src/load/types.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { k6, runScript, writeScript } from '../helpers/load.ts';
import { tempDir } from '../helpers/temp.ts';

describe('k6 documentation examples', () => {
  it('should run "stages with thresholds" (ramping VUs; http_req_failed and p(95) thresholds, exit 99 on failure)', async () => {
    using dir = tempDir('k6-stages');
    let n = 0;
    await using srv = await startHttpServer((req, res) => {
      req.resume();
      // one answer in ten is a 500, so `http_req_failed: ['rate<0.01']` must fail
      req.on('end', () => res.writeHead(++n % 10 === 0 ? 500 : 200).end('ok'));
    });
    const script = writeScript(
      dir.path,
      'stages.ts',
      `import http from '${k6('http.ts')}';
import { check, sleep } from '${k6('index.ts')}';

export const options = {
  stages: [
    { duration: '2s', target: 20 },
    { duration: '2s', target: 10 },
    { duration: '1s', target: 0 },
  ],
  thresholds: {
    http_req_failed: ['rate<0.01'], // http errors should be less than 1%
    http_req_duration: ['p(95)<200'], // 95% of requests should be below 200ms
  },
};

export default async function () {
  const res = await http.get(__ENV.BASE_URL + '/');
  check(res, { 'status was 200': (r) => r.status == 200 });
  await sleep(1);
}
`,
    );
    const res = await runScript(dir.path, 'test-k6-stages', script, { BASE_URL: srv.url });
    const th = Object.fromEntries(res.thresholds.map((t) => [`${t.metric} ${t.expression}`, t]));
    const failed = th['http_req_failed rate<0.01'];
    assert.equal(failed?.ok, false, 'a 10 % error rate fails rate<0.01');
    assert.ok(Math.abs((failed?.value ?? 0) - 0.1) < 0.05, `error rate ${failed?.value}`);
    const p95 = th['http_req_duration p(95)<200'];
    assert.equal(p95?.value, res.metrics['http_req_duration']?.values['p(95)']);
    assert.equal(p95?.ok, (p95?.value ?? Infinity) < 200);
    assert.equal(res.exitCode, 99);
    // ramped to 20 VUs (a tick delayed past the peak by a stalled machine may see 18 or 19)
    const vusMax = res.metrics['vus_max']?.values['max'] ?? 0;
    assert.ok(vusMax >= 15 && vusMax <= 20, `vus_max ${vusMax}`);
    assert.equal(res.metrics['checks']?.values['fails'], res.metrics['http_req_failed']?.values['passes']);
  });

  it('should run "multiple scenarios, different env vars and tags per scenario" with tagged thresholds', async () => {
    using dir = tempDir('k6-scenarios');
    const paths = new Map<string, number>();
    await using srv = await startHttpServer((req, res) => {
      paths.set(req.url ?? '', (paths.get(req.url ?? '') ?? 0) + 1);
      req.resume();
      req.on('end', () => res.writeHead(200).end('{}'));
    });
    const script = writeScript(
      dir.path,
      'scenarios.ts',
      `import http from '${k6('http.ts')}';
import { sleep } from '${k6('index.ts')}';

export const options = {
  scenarios: {
    my_web_test: {
      exec: 'webtest',
      executor: 'constant-vus',
      vus: 50,
      duration: '3s',
      tags: { my_custom_tag: 'web' },
      env: { MYVAR: 'web' },
    },
    my_api_test_1: {
      executor: 'constant-arrival-rate',
      rate: 90,
      timeUnit: '1m',
      duration: '3s',
      preAllocatedVUs: 10,
      tags: { test_type: 'api' },
      env: { MY_CROC_ID: '1' },
      exec: 'apitest',
    },
    my_api_test_2: {
      executor: 'ramping-arrival-rate',
      startTime: '1s',
      startRate: 50,
      timeUnit: '1s',
      stages: [
        { target: 200, duration: '1s' },
        { target: 0, duration: '1s' },
      ],
      preAllocatedVUs: 50,
      maxVUs: 100,
      tags: { test_type: 'api' },
      env: { MY_CROC_ID: '2' },
      exec: 'apitest',
    },
  },
  discardResponseBodies: true,
  thresholds: {
    'http_req_duration{test_type:api}': ['p(95)<250', 'p(99)<350'],
    'http_req_duration{scenario:my_api_test_2}': ['p(99)<300'],
    'http_req_duration{scenario:my_web_test}': ['p(99)<500'],
  },
};

export async function webtest() {
  await http.get(__ENV.BASE_URL + '/contacts.php');
  await sleep(Math.random() * 2);
}

export async function apitest() {
  await http.get(__ENV.BASE_URL + \`/public/crocodiles/\${__ENV.MY_CROC_ID}/\`);
}
`,
    );
    const res = await runScript(dir.path, 'test-k6-scenarios', script, { BASE_URL: srv.url });
    const http = res.samples.filter((s): s is HttpSample => s.type === 'http');
    const by = (sc: string) => http.filter((s) => s.scenario === sc);
    const dropped = (sc: string) =>
      res.samples.filter((s) => s.type === 'dropped' && s.scenario === sc).length;
    assert.ok(by('my_web_test').every((s) => s.tags?.['my_custom_tag'] === 'web'));
    assert.ok(
      by('my_api_test_1').every((s) => s.tags?.['test_type'] === 'api' && s.name.endsWith('/crocodiles/1/')),
    );
    assert.ok(
      by('my_api_test_2').every((s) => s.tags?.['test_type'] === 'api' && s.name.endsWith('/crocodiles/2/')),
    );
    // 90 per minute for 3 s = 4.5 arrivals: 5 (at 0, 0.67, 1.33, 2, 2.67 s)
    assert.equal(by('my_api_test_1').length + dropped('my_api_test_1'), 5);
    // 50→200/s over 1 s, then 200→0/s over 1 s: 125 + 100 arrivals
    const api2 = by('my_api_test_2');
    const api2Dropped = dropped('my_api_test_2');
    assert.ok(Math.abs(api2.length + api2Dropped - 225) <= 1, `${api2.length} + ${api2Dropped}`);
    assert.ok(Math.min(...api2.map((s) => s.t)) >= 1000, 'startTime 1s');
    assert.equal(paths.get('/public/crocodiles/2/'), api2.length);
    const keys = res.thresholds.map((t) => `${t.metric} ${t.expression}`);
    assert.deepEqual(keys, [
      'http_req_duration{test_type:api} p(95)<250',
      'http_req_duration{test_type:api} p(99)<350',
      'http_req_duration{scenario:my_api_test_2} p(99)<300',
      'http_req_duration{scenario:my_web_test} p(99)<500',
    ]);
    const api = res.metrics['http_req_duration{test_type:api}'];
    assert.ok(api?.thresholds?.['p(95)<250']);
    for (const t of res.thresholds)
      assert.equal(t.ok, (t.value ?? Infinity) < Number(t.expression.split('<')[1]));
    assert.equal(res.exitCode, res.thresholdsFailed ? 99 : 0);
  });

  it('should run "custom metrics + handleSummary" (a Trend of r.timings.waiting; summary.json from data)', async () => {
    using dir = tempDir('k6-summary');
    await using srv = await startHttpServer();
    const script = writeScript(
      dir.path,
      'summary.ts',
      `import http from '${k6('http.ts')}';
import { Trend, Counter } from '${k6('metrics.ts')}';

export const options = { vus: 3, iterations: 30 };

const myTrend = new Trend('waiting_time');
const myCounter = new Counter('my_counter');

export default async function () {
  const r = await http.get(__ENV.BASE_URL + '/');
  myTrend.add(r.timings.waiting);
  myCounter.add(1);
}

export function handleSummary(data) {
  return {
    'summary.json': JSON.stringify(data), //the default data object
  };
}
`,
    );
    await using reg = CleanupRegistry.open('test-k6-summary', dir.path);
    const out = join(dir.path, 'out');
    const res = await runLoad({ script, outDir: out, env: { BASE_URL: srv.url }, registry: reg });
    assert.equal(res.exitCode, 0);
    // handleSummary's relative file names are written to the load output directory.
    const data = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as SummaryData;
    assert.equal(data.metrics['waiting_time']?.type, 'trend');
    assert.equal(data.metrics['my_counter']?.values['count'], 30);
    assert.equal(data.metrics['iterations']?.values['count'], 30);
    assert.ok((data.metrics['waiting_time']?.values['max'] ?? 0) > 0);
    assert.equal(res.metrics['waiting_time']?.values['max'], data.metrics['waiting_time']?.values['max']);
  });
});
