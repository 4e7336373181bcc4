import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { RunRecord } from '../../src/campaign/record.ts';
import { CleanupRegistry, newRunId } from '../../src/core/cleanup/registry.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import type { EngineResult } from '../../src/load/engine.ts';
import { readSamples } from '../../src/load/summary.ts';
import type { Sample } from '../../src/load/types.ts';
import { loadStack } from '../../src/stack/manifest.ts';
import { kindEnvironment } from '../../src/tools/kind-env.ts';
import { KindCluster } from '../../src/targets/kube/kind.ts';
import { LOAD_CONFIGMAP, LOAD_JOB, type ClusterLoadJobRecord } from '../../src/targets/kube/load-job.ts';
import { loadKubeConfig } from '../../src/targets/kube/target.ts';
import { isolatedRunDirs, tempDir } from '../helpers/temp.ts';

/**
 * `--load-replicas 2` on a real Kind cluster: the load runner image (this host's Node + the runner
 * bundle, built by mkimage) loaded into the nodes, an Indexed Job of 2 pods on the tainted load
 * worker, their samples streamed back through their logs and merged for the checks. Needs what
 * scripts/test-kind needs (bootstrap --kind, root).
 *
 * 1. The short Kind campaign (its partition, Kubernetes faults and rescheduling trial) with
 *    --load-replicas 2: every check passes, both pods Succeeded on the load worker, both segments wrote, write
 *    ids unique, the metrics those of both pods, the Job/pods/ConfigMap deleted, no journal left.
 * 2. kill -9 of `run --target kube` while the load pods run on a Kind cluster this test made (so it
 *    outlives the run), then `edgechaos cleanup`: the Job, its pods and the ConfigMap are gone from
 *    the cluster (the kube-load-job reverter did it, not a cluster deletion), no journal left.
 */
const scenario = join(repoRoot, 'test/fixtures/scenarios/kind-short.ts');
const cli = join(repoRoot, 'bin/edgechaos.mjs');
const writeIds = (samples: Sample[]): string[] => samples.flatMap((s) => (s.type === 'write' ? [s.id] : []));

describe('--load-replicas on --target kind (the load runner image as an Indexed Job)', () => {
  const keep = process.env['EDGECHAOS_REPORTS_DIR'];
  const dirs = isolatedRunDirs(before, after);
  const reports = keep ?? dirs.reports;

  it('runs the short Kind campaign with the load as 2 pods of the runner image, merged exactly', async (t) => {
    mkdirSync(reports, { recursive: true });
    const t0 = Date.now();
    const r = await run(['node', cli, 'run', scenario, '--target', 'kind', '--load-replicas', '2'], {
      allowFailure: true,
      env: { ...process.env, EDGECHAOS_REPORTS_DIR: reports },
    });
    t.diagnostic(`kind campaign with --load-replicas 2: ${Date.now() - t0} ms`);
    const out = r.stdout + r.stderr;
    const runDir = readdirSync(reports)
      .map((d) => join(reports, d))
      .find((d) => readdirSync(d).includes('run.json'));
    assert.ok(runDir, `a run directory under ${reports}:\n${out.slice(-6000)}`);
    const rec = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(rec.error, undefined, rec.error);
    assert.equal(r.code, 0, out.slice(-6000));
    for (const c of rec.checks) assert.notEqual(c.status, 'failed', `${c.id}: ${c.summary}`);

    const load = join(runDir, 'load');
    const job = JSON.parse(readFileSync(join(load, 'load-job.json'), 'utf8')) as ClusterLoadJobRecord;
    t.diagnostic(
      `image ${job.image} ${job.imageCompressedBytes} bytes compressed (built this run: ${job.imageBuilt}), script ${job.scriptBytes} bytes`,
    );
    const { completions, completionMode, succeeded, conditions } = job;
    assert.deepEqual(
      { completions, completionMode, succeeded, complete: conditions.includes('Complete') },
      { completions: 2, completionMode: 'Indexed', succeeded: 2, complete: true },
      JSON.stringify(job),
    );
    assert.deepEqual(job.pods.map((p) => p.index).sort(), [0, 1]);
    for (const p of job.pods) {
      assert.equal(p.phases.at(-1), 'Succeeded', `${p.name}: ${p.phases.join(' → ')}`);
      assert.equal(p.exitCode, 0, p.name);
      assert.equal(p.problem, undefined, p.problem);
      // kind names nodes in config order: control-plane, the 2 edge workers, then the load worker
      assert.match(p.node ?? '', /-worker3$/, `${p.name} ran on the load worker, not ${p.node}`);
      t.diagnostic(`${p.name}: ${p.samples} samples from its log${p.reread ? ' (re-read whole)' : ''}`);
    }
    assert.deepEqual(
      [job.jobDeleted, job.podsDeleted, job.configMapDeleted],
      [true, true, true],
      'Job, pods and ConfigMap deleted',
    );
    const seg = [0, 1].map((i) => writeIds(readSamples(join(load, `segment-${i}`, 'samples.jsonl'))));
    for (const ids of seg) assert.ok(ids.length > 100, `${ids.length} writes in a segment`);
    const ids = writeIds(readSamples(join(load, 'samples.jsonl')));
    assert.equal(ids.length, seg[0]!.length + seg[1]!.length);
    assert.equal(new Set(ids).size, ids.length, 'no write id twice across the pods');
    const reqs = (i: number): number =>
      (JSON.parse(readFileSync(join(load, `segment-${i}`, 'load-result.json'), 'utf8')) as EngineResult).data
        .metrics['http_reqs']!.values['count']!;
    assert.equal(rec.evidence?.load?.metrics?.['http_reqs']?.['count'], reqs(0) + reqs(1));
    const sync = rec.checks.find((c) => c.id === 'resumed-sync');
    assert.equal(sync?.status, 'passed', sync?.summary);
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
      'nothing left journaled',
    );
  });

  it('kill -9 while the load pods run on --target kube: cleanup deletes the Job, its pods and ConfigMap', async (t) => {
    // the test's own cluster and engine are journaled apart, so `edgechaos cleanup` (the run's state
    // dir) cannot delete the cluster whose contents it is judged on
    const own = tempDir('kind-load-kill');
    const registry = CleanupRegistry.open(newRunId('kind-load-kill'), own.path);
    try {
      const kindEnv = await kindEnvironment(registry);
      const stack = await loadStack();
      const dir = join(dirs.reports, 'cluster');
      const cluster = await KindCluster.create({
        spec: {
          name: `ec-loadkill-${Date.now().toString(36)}`,
          edgeWorkers: 2,
          loadWorker: true,
          ...(kindEnv.nodeImage ? { nodeImage: kindEnv.nodeImage } : {}),
        },
        dir,
        registry,
        images: Object.values(stack.images),
      });
      const child = spawn(
        'node',
        [
          cli,
          'run',
          scenario,
          '--target',
          'kube',
          '--kubeconfig',
          cluster.kubeconfig,
          '--load-replicas',
          '2',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const kc = loadKubeConfig({ kubeconfig: cluster.kubeconfig });
      const core = kc.makeApiClient(CoreV1Api);
      const running = async (): Promise<number> =>
        (await core.listPodForAllNamespaces({ labelSelector: `app=${LOAD_JOB}` })).items.filter(
          (p) => p.status?.phase === 'Running',
        ).length;
      try {
        const deadline = Date.now() + 600_000;
        while ((await running().catch(() => 0)) < 2 && Date.now() < deadline && child.exitCode === null)
          await new Promise((r) => setTimeout(r, 1000));
        assert.equal(child.exitCode, null, `the run ended before its load pods ran:\n${out.slice(-4000)}`);
        assert.equal(await running(), 2, `both load pods running:\n${out.slice(-4000)}`);
        const journal = readdirSync(dirs.state)
          .filter((f) => f.endsWith('.journal'))
          .map((f) => readFileSync(join(dirs.state, f), 'utf8'))
          .join('\n');
        assert.match(journal, /kube-load-job/, 'the load Job is journaled');
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const c = await run(['node', cli, 'cleanup'], { allowFailure: true });
      t.diagnostic(c.stdout);
      assert.equal(c.code, 0, c.stdout + c.stderr);
      // the cluster was this test's: what is gone from it, the cleanup deleted
      const batch = kc.makeApiClient(BatchV1Api);
      const jobs = (await batch.listJobForAllNamespaces()).items.filter((j) => j.metadata?.name === LOAD_JOB);
      const pods = (await core.listPodForAllNamespaces({ labelSelector: `app=${LOAD_JOB}` })).items;
      const cms = (await core.listConfigMapForAllNamespaces()).items.filter(
        (m) => m.metadata?.name === LOAD_CONFIGMAP,
      );
      assert.deepEqual(
        [jobs.length, pods.length, cms.length],
        [0, 0, 0],
        `left: ${[...jobs, ...pods, ...cms].map((o) => o.metadata?.name).join(', ')}`,
      );
      await cluster.delete();
    } finally {
      await registry.close();
      own[Symbol.dispose]();
    }
    assert.deepEqual(
      readdirSync(dirs.state).filter((f) => f.endsWith('.journal')),
      [],
      'no journal left',
    );
  });
});
