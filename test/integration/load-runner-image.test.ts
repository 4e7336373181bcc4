import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { bundleScript, SCRIPT_KEY } from '../../src/load/bundle.ts';
import { mergeSegmentResults, segmentDir } from '../../src/load/job.ts';
import { readLoadResult } from '../../src/load/run-load.ts';
import { SegmentSink } from '../../src/load/stream.ts';
import { readSamples } from '../../src/load/summary.ts';
import { IMAGE_NODE, IMAGE_RUNNER, loadRunnerImage } from '../../src/targets/kube/load-image.ts';
import { unpackImage } from '../../src/targets/local/oci/unpack.ts';
import { startHttpServer, type TestServer } from '../helpers/http-server.ts';

/**
 * The load runner image without a cluster: built as `--load-replicas` builds it (this host's Node,
 * its libraries, the runner bundle; mkimage), unpacked with crane, and run as two runc containers —
 * the two pods of an Indexed Job, JOB_COMPLETION_INDEX 0 and 1 — on the host's network (no network
 * namespace) against a node:http server on 127.0.0.1. The harness side reads their stdout as it
 * reads a pod's log, and merges the segments as a Job's. runc uses its own root and cgroups named
 * rimg-*, removed at the end (asserted).
 */

const RATE = 100;
const SECONDS = 3;
const id = `rimg-${randomBytes(3).toString('hex')}`;

/** Every cgroup directory of this test in any hierarchy (hybrid hosts have several). */
function cgroupsLeft(): string[] {
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    try {
      out.push(
        ...readdirSync(`/sys/fs/cgroup/${h}`)
          .filter((f) => f.startsWith(id))
          .map((f) => `${h}/${f}`),
      );
    } catch {
      /* a file, not a hierarchy */
    }
  }
  return out;
}

/** The k6-style script the pods run: writes at a constant arrival rate, a check, a custom counter, a threshold. */
const script = (k6: string): string => `
import exec from '${k6}/execution.ts';
import http from '${k6}/http.ts';
import { check } from '${k6}/index.ts';
import { Counter } from '${k6}/metrics.ts';
const posted = new Counter('pod_writes');
export const options = {
  scenarios: {
    writes: { executor: 'constant-arrival-rate', rate: ${RATE}, timeUnit: '1s', duration: __ENV.DURATION || '${SECONDS}s',
              preAllocatedVUs: 10, maxVUs: 50, gracefulStop: '2s' },
  },
  thresholds: { http_req_failed: ['rate<0.01'], checks: ['rate>0.99'] },
};
export default async function () {
  const i = exec.scenario.iterationInTest;
  const id = __ENV.RUN_ID + '-' + i;
  const res = await http.post(__ENV.TARGET + '/v1/records', JSON.stringify({ id }), {
    headers: { 'content-type': 'application/json' },
    tags: { name: 'write', node: 'edge-1' },
    timeout: '3s',
    write: { id, node: 'edge-1', payloadBytes: 10 },
  });
  check(res, { 'write acknowledged': (r) => r.status === 201 });
  posted.add(1);
}
`;

/** A pod of the Job as runc sees it: container `name`, completion `index` of `replicas`. */
interface PodRun {
  name: string;
  index: number;
  replicas: number;
  env: Record<string, string>;
}

function runtimeSpec(rootfs: string, scriptDir: string, pod: PodRun): object {
  const { index, env } = pod;
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 65532, gid: 65532 },
      args: [IMAGE_NODE, IMAGE_RUNNER, '--stream', '--job-segment', `/script/${SCRIPT_KEY}`, '/out'],
      env: [
        'PATH=/',
        `JOB_COMPLETION_INDEX=${index}`,
        `LOAD_REPLICAS=${pod.replicas}`,
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ],
      cwd: '/',
      noNewPrivileges: true,
      capabilities: { bounding: [], effective: [], permitted: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 }],
    },
    root: { path: rootfs, readonly: true },
    hostname: 'load-runner',
    // what the Job's pod has: a read-only root, the script's ConfigMap at /script, an emptyDir at /out
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'size=1m'] },
      {
        destination: '/out',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', 'size=16m'],
      },
      { destination: '/script', type: 'bind', source: scriptDir, options: ['rbind', 'ro'] },
    ],
    linux: {
      // no network namespace: the host's, as a hostNetwork pod; 127.0.0.1 is the test's server
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      cgroupsPath: `/${id}-${pod.name}`,
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list'],
      readonlyPaths: ['/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

describe('load runner image under runc (two Job pods on the host network, stdout as their logs)', () => {
  let work: string;
  let runcRoot: string;
  let server: TestServer;
  let scriptDir: string;
  let rootfs: string | undefined;
  const posted: string[] = [];

  /** `runc run` of one pod, its stdout read as its log into `dir`; `onSample` sees each sample line. */
  const runPod = async (root: string, scripts: string, pod: PodRun, dir: string, onSample?: () => void) => {
    const bundle = join(work, `bundle-${pod.name}`);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(runtimeSpec(root, scripts, pod)));
    const sink = new SegmentSink(dir);
    const started = Date.now();
    const p = spawn('runc', ['--root', runcRoot, 'run', '--bundle', bundle, `${id}-${pod.name}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => {
      sink.push(c);
      if (sink.decoder.samples > 1) onSample?.();
    });
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((r) => p.on('close', (c) => r(c)));
    const problem = sink.end();
    const i = pod.name;
    return { i, code, stderr, problem, started, trailer: sink.decoder.trailer, log: sink.decoder.log };
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), `${id}-`));
    scriptDir = join(work, 'script');
    mkdirSync(scriptDir);
    runcRoot = join(tmpdir(), `${id}-runc`);
    server = await startHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.method === 'POST') posted.push((JSON.parse(body) as { id: string }).id);
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
  });

  after(async () => {
    await server?.close();
    for (const i of [0, 1, 'term'])
      await run(['runc', '--root', runcRoot, 'delete', '--force', `${id}-${i}`], { allowFailure: true });
    rmSync(runcRoot, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(cgroupsLeft(), [], 'no cgroup of the test left');
    assert.equal(existsSync(runcRoot), false, 'runc root removed');
  });

  it('should drive the requests of both segments from the image and stream samples the harness merges', async (t) => {
    const t0 = performance.now();
    const image = await loadRunnerImage();
    const buildMs = performance.now() - t0;
    const unpacked = await unpackImage(image.archive, join(work, 'unpack'));
    rootfs = unpacked.rootfs;
    const src = join(work, 'pods-script.ts');
    writeFileSync(src, script(join(repoRoot, 'src', 'load', 'k6')));
    const bytes = await bundleScript(src, join(scriptDir, SCRIPT_KEY));
    const env = { TARGET: server.url, RUN_ID: id };
    const outDir = join(work, 'load');

    const pods = [0, 1].map((i) =>
      runPod(
        unpacked.rootfs,
        scriptDir,
        { name: String(i), index: i, replicas: 2, env },
        segmentDir(outDir, i),
      ),
    );
    const ended = await Promise.all(pods);
    for (const e of ended) {
      assert.equal(e.code, 0, `pod ${e.i}: runc exit ${e.code}; ${e.stderr} ${e.log.join('\n')}`);
      assert.equal(e.problem, undefined, `pod ${e.i}: ${e.problem}`);
      assert.equal(e.trailer?.exitCode, 0);
    }
    const results = ended.map((e) =>
      readLoadResult(segmentDir(outDir, Number(e.i)), 0, e.trailer!.exitCode, false),
    );
    const merged = mergeSegmentResults(outDir, results);

    // every request the server saw is a write sample of exactly one pod, ids unique across the pods
    const writes = merged.samples.flatMap((s) => (s.type === 'write' ? [s] : []));
    const ids = writes.map((w) => w.id);
    assert.equal(new Set(ids).size, ids.length, 'no write id twice across the pods');
    assert.deepEqual([...ids].sort(), [...posted].sort(), 'the write history is what the server received');
    assert.ok(Math.abs(ids.length - RATE * SECONDS) <= 2, `${ids.length} writes, want ${RATE * SECONDS}`);
    assert.ok(
      writes.every((w) => w.outcome === 'ok' && w.status === 201),
      'every write acknowledged',
    );
    for (const e of ended) {
      const own = readSamples(join(segmentDir(outDir, Number(e.i)), 'samples.jsonl')).filter(
        (s) => s.type === 'write',
      );
      assert.ok(
        Math.abs(own.length - (RATE * SECONDS) / 2) <= 2,
        `pod ${e.i}: ${own.length} writes, half the arrivals`,
      );
    }
    // k6's metrics as one test: both pods' requests, checks, the custom counter; thresholds on the merge
    assert.equal(merged.metrics['http_reqs']?.values['count'], posted.length);
    assert.equal(merged.metrics['pod_writes']?.values['count'], posted.length);
    assert.equal(merged.metrics['checks']?.values['rate'], 1);
    assert.ok((merged.metrics['http_req_duration']?.values['p(95)'] ?? 0) > 0);
    assert.deepEqual(
      merged.thresholds.map((t) => [t.metric, t.ok]),
      [
        ['http_req_failed', true],
        ['checks', true],
      ],
    );
    const ts = merged.samples.map((s) => s.t);
    assert.deepEqual(
      ts,
      [...ts].sort((a, b) => a - b),
      'merged in time order',
    );

    // figures for the record
    const starts = ended.map((e) => {
      const s = readSamples(join(segmentDir(outDir, Number(e.i)), 'samples.jsonl'))[0];
      return s?.type === 'start' ? s.epochMs - e.started : NaN;
    });
    const end = merged.samples.at(-1);
    t.diagnostic(
      JSON.stringify({
        image: { compressedBytes: image.compressedBytes, built: image.built, ms: Math.round(buildMs) },
        scriptBundleBytes: bytes,
        unpackMs: Math.round(unpacked.unpackMs),
        runcToFirstSampleMs: starts,
        writes: ids.length,
        p95ms: merged.metrics['http_req_duration']?.values['p(95)'],
        podsCpuSeconds: end?.type === 'end' ? end.cpuSeconds : undefined,
        samplesPerPod: ended.map((e) => e.trailer?.samples),
      }),
    );
  });

  it('should end its test and its stream on SIGTERM, as a pod of a suspended Job does', async (t) => {
    assert.ok(rootfs, 'the image was unpacked by the first test');
    const dir = join(work, 'term');
    const before = posted.length;
    let signalled: number | undefined;
    const term = (): void => {
      if (signalled !== undefined) return;
      signalled = Date.now();
      // as the kubelet stops a pod's container: SIGTERM to its PID 1 (the runner's node)
      void run(['runc', '--root', runcRoot, 'kill', `${id}-term`, 'TERM'], { allowFailure: true });
    };
    const onSample = (): void => void setTimeout(term, 1000);
    const e = await runPod(
      rootfs,
      scriptDir,
      {
        name: 'term',
        index: 0,
        replicas: 1,
        env: { TARGET: server.url, RUN_ID: `${id}-term`, DURATION: '60s' },
      },
      dir,
      onSample,
    );
    assert.ok(signalled, 'signalled while running');
    const stopMs = Date.now() - signalled;
    t.diagnostic(JSON.stringify({ stopMs, samples: e.trailer?.samples }));
    assert.equal(e.code, 0, `${e.stderr} ${e.log.join('\n')}`);
    assert.equal(e.problem, undefined, e.problem);
    assert.ok(stopMs < 10_000, `stopped ${stopMs} ms after SIGTERM, not at the end of its 60 s`);
    const ids = new Set(
      readSamples(join(dir, 'samples.jsonl')).flatMap((s) => (s.type === 'write' ? [s.id] : [])),
    );
    const received = posted.slice(before);
    assert.ok(received.length >= RATE / 2, `${received.length} writes received in about 1 s`);
    assert.deepEqual(
      received.filter((w) => !ids.has(w)),
      [],
      'every write the server received is in the stream (the interrupted ones as indeterminate)',
    );
  });
});
