import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { runLoad, startLoad } from '../../src/load/run-load.ts';
import type { HttpSample, WriteSample } from '../../src/load/summary.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { k6, runScript, writeScript } from '../helpers/load.ts';
import { tempDir } from '../helpers/temp.ts';

describe('load runner (k6-style TypeScript script, real HTTP, own process)', () => {
  it('should run a script against a local server: write history, tags, iteration errors, summary', async () => {
    using dir = tempDir('load');
    let writesSeen = 0;
    await using srv = await startHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') writesSeen++;
        // every 5th write is refused with a definite 503 (no side effect claimed); every 7th gets a 500
        const refuse = req.method === 'POST' && writesSeen % 5 === 0;
        const broken = req.method === 'POST' && !refuse && writesSeen % 7 === 0;
        res.writeHead(refuse ? 503 : broken ? 500 : req.method === 'POST' ? 201 : 200).end('{}');
      });
    });
    const script = writeScript(
      dir.path,
      'tiny.ts',
      `import http from '${k6('http.ts')}';
import { check } from '${k6('index.ts')}';
import exec from '${k6('execution.ts')}';
export const options = {
  scenarios: {
    writes: { executor: 'constant-arrival-rate', rate: 50, duration: '2s', preAllocatedVUs: 5, maxVUs: 50, exec: 'write', tags: { flavour: 'w' } },
    reads: { executor: 'constant-vus', vus: 2, duration: '2s', exec: 'read' },
  },
};
export async function write() {
  const id = 'w-' + exec.scenario.iterationInTest;
  const res = await http.post(__ENV.TARGET + '/v1/records', JSON.stringify({ id }), { write: { id, node: 'edge-1' }, tags: { shard: 's1' } });
  check(res, { 'write acknowledged': (r) => r.status === 201 });
}
export async function read() {
  await http.get(__ENV.TARGET + '/healthz', { tags: { name: 'healthz', node: 'edge-1' } });
  if (exec.vu.iterationInInstance % 3 === 2) throw new Error('read iteration blew up');
}
`,
    );
    await using reg = CleanupRegistry.open('test-load', dir.path);
    const res = await runLoad({
      script,
      outDir: join(dir.path, 'out'),
      env: { TARGET: srv.url, SEED: '7' },
      registry: reg,
    });
    const { summary } = res;
    const written = summary.writes.ok + summary.writes.indeterminate + summary.writes.failed;
    assert.equal(written + summary.dropped, 100, '50/s for 2 s: every arrival written or counted as dropped');
    assert.ok(written >= 50);
    const refused = Math.floor(writesSeen / 5);
    assert.equal(summary.writes.failed, refused, 'a definite 503 is failed');
    assert.equal(
      summary.writes.indeterminate,
      writesSeen - summary.writes.ok - refused,
      'a 500 is indeterminate',
    );
    assert.ok(summary.writes.indeterminate > 0);
    assert.equal(
      summary.checks['write acknowledged']?.fails,
      summary.writes.failed + summary.writes.indeterminate,
    );
    // Each VU throws in its 3rd, 6th, ... iteration: with n iterations a VU threw floor((n+1)/3) times.
    const reads = summary.byName['healthz']?.count ?? 0;
    assert.ok(summary.iterationErrors >= 2, `iteration errors: ${summary.iterationErrors}`);
    assert.ok(
      reads >= 3 * summary.iterationErrors - 2,
      `constant-vus went on after exceptions: ${reads} reads`,
    );
    assert.ok(reads > 6, `${reads} reads`);
    const w = res.samples.find((s): s is HttpSample => s.type === 'http' && s.name === 'write');
    assert.deepEqual(w?.tags, { flavour: 'w', shard: 's1' }, 'tags other than name/node are kept');
    assert.equal(w?.node, 'edge-1');
    const ids = new Set(res.samples.filter((s): s is WriteSample => s.type === 'write').map((s) => s.id));
    assert.equal(ids.size, written, 'write ids unique');
    assert.equal(res.exitCode, 0);
    assert.equal(res.metrics['http_reqs']?.values['count'], summary.http.count);
    assert.equal(res.metrics['checks']?.values['fails'], summary.checks['write acknowledged']?.fails);
    assert.equal(reg.pending().length, 0, 'runner process forgotten after it exited');
  });

  it('should not put the env on the command line and delete its 0600 env file once read', async () => {
    using dir = tempDir('load-env');
    await using srv = await startHttpServer();
    const script = writeScript(
      dir.path,
      'env.ts',
      `import http from '${k6('http.ts')}';
import { sleep } from '${k6('index.ts')}';
export const options = { vus: 1, duration: '2s' };
export default async function () {
  await http.get(__ENV.TARGET + '/x?token=' + __ENV.API_TOKEN.length);
  await sleep(0.05);
}
`,
    );
    await using reg = CleanupRegistry.open('test-load-env', dir.path);
    const secret = 'S3CRET-' + Math.random().toString(36).slice(2);
    const running = await startLoad({
      script,
      outDir: join(dir.path, 'out'),
      env: { TARGET: srv.url, API_TOKEN: secret },
      registry: reg,
    });
    const cmdline = readFileSync(`/proc/${running.pid}/cmdline`, 'utf8');
    const res = await running.done;
    assert.ok(!cmdline.includes(secret), 'the secret is not in /proc/<pid>/cmdline');
    assert.ok(!cmdline.includes('API_TOKEN'));
    assert.ok(res.summary.http.count > 5, 'the script read its env');
    const envFile = cmdline.split('\0').find((a) => a.includes('.env-'));
    assert.ok(envFile, 'the env file path is passed');
    assert.throws(() => statSync(envFile), /ENOENT/, 'the env file is gone');
  });

  it('should exit 99 with the failed thresholds in LoadResult, and abort early on abortOnFail', async () => {
    using dir = tempDir('load-th');
    await using srv = await startHttpServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(req.url === '/bad' ? 500 : 200).end('{}'));
    });
    const script = writeScript(
      dir.path,
      'th.ts',
      `import http from '${k6('http.ts')}';
import { check, sleep } from '${k6('index.ts')}';
export const options = {
  scenarios: {
    good: { executor: 'constant-vus', vus: 2, duration: '30s', exec: 'good' },
    bad: { executor: 'constant-vus', vus: 1, duration: '30s', exec: 'bad' },
  },
  thresholds: {
    'http_req_duration{name:good}': ['p(95)<60000'],
    'http_req_failed{name:bad}': [{ threshold: 'rate<0.5', abortOnFail: true, delayAbortEval: '1s' }],
    checks: ['rate>0.99'],
  },
};
export async function good() {
  const r = await http.get(__ENV.TARGET + '/good', { tags: { name: 'good' } });
  check(r, { 'good is 200': (x) => x.status === 200 });
  await sleep(0.02);
}
export async function bad() {
  const r = await http.get(__ENV.TARGET + '/bad', { tags: { name: 'bad' } });
  check(r, { 'bad is 200': (x) => x.status === 200 });
  await sleep(0.02);
}
`,
    );
    const t0 = performance.now();
    const res = await runScript(dir.path, 'test-load-th', script, { TARGET: srv.url });
    assert.ok(performance.now() - t0 < 25_000, 'aborted long before 30 s');
    assert.equal(res.exitCode, 99);
    assert.equal(res.thresholdsFailed, true);
    assert.match(res.aborted ?? '', /http_req_failed\{name:bad\}/);
    const by = Object.fromEntries(res.thresholds.map((t) => [`${t.metric} ${t.expression}`, t]));
    assert.equal(by['http_req_duration{name:good} p(95)<60000']?.ok, true);
    assert.equal(by['http_req_failed{name:bad} rate<0.5']?.ok, false);
    assert.equal(by['http_req_failed{name:bad} rate<0.5']?.aborted, true);
    assert.equal(by['http_req_failed{name:bad} rate<0.5']?.value, 1);
    assert.equal(by['checks rate>0.99']?.ok, false);
    assert.deepEqual(res.metrics['http_req_failed{name:bad}']?.thresholds, { 'rate<0.5': { ok: false } });
  });

  it('should run the shipped k6-style scripts as the campaign calls them', async () => {
    using dir = tempDir('load-shipped');
    await using srv = await startHttpServer();
    await using reg = CleanupRegistry.open('test-load-shipped', dir.path);
    const edges = JSON.stringify([
      { name: 'edge-1', url: srv.url },
      { name: 'edge-2', url: srv.url },
    ]);
    for (const [name, env] of [
      ['steady.ts', { WRITE_RATE: '40', READ_RATE: '10', PAYLOAD_BYTES: '100' }],
      ['ramping.ts', { PEAK_RATE: '60' }],
      ['read-heavy.ts', { WRITE_RATE: '20', READ_RATE: '40' }],
    ] as const) {
      const res = await runLoad({
        script: join(repoRoot, 'scenarios/load', name),
        outDir: join(dir.path, name),
        env: { ...env, EDGES: edges, RUN_ID: 'r1', DURATION: '1500ms', SEED: '3' },
        registry: reg,
      });
      const writes = res.samples.filter((s): s is WriteSample => s.type === 'write');
      assert.ok(writes.length > 10, `${name}: ${writes.length} writes`);
      assert.equal(res.summary.writes.ok, writes.length, `${name}: all acknowledged`);
      assert.deepEqual([...new Set(writes.map((w) => w.node))].sort(), ['edge-1', 'edge-2']);
      assert.equal(new Set(writes.map((w) => w.id)).size, writes.length, `${name}: unique ids`);
      assert.equal(res.exitCode, 0);
    }
  });
});
