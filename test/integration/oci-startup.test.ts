import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { loadStack, type StackManifest } from '../../src/stack/manifest.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';
import { containerId, listContainers } from '../../src/targets/local/oci/runtime.ts';
import { measuredShares, ociColdStarts } from '../../src/targets/local/oci/startup.ts';
import { deployLocalEdges, teardownLocal } from '../helpers/local-target.ts';
import { ociTraces } from './oci-helpers.ts';

/**
 * The campaign's start-up samples on a real rpi4 board (runc containers in its cgroup): the scored
 * samples are the ones asked for, after one discarded warm start; the board's CPU weight is raised only
 * while sampling and restored after, also when interrupted; no sample container or cgroup is left.
 */
describe('start-up samples on the local target', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-startup-'));
  const state = join(dir, 'state');
  const runId = `tsu${process.pid}`;
  const savedState = process.env['EDGECHAOS_STATE_DIR'];
  let reg: CleanupRegistry;
  let dep: LocalDeployment;
  let stack: StackManifest;
  const shares = (): string =>
    readFileSync(join(dep.local('edge-1').cgroups.cpu, 'cpu.shares'), 'utf8').trim();
  // what is left of the samples: their containers (c<i> cold, w<i> warm), child cgroups other than `ctr`
  const sampleIds = ['c', 'w'].flatMap((m) =>
    Array.from({ length: 10 }, (_, i) => containerId(runId, 'edge-1', `${m}${i}`)),
  );
  const samplesLeft = (): string[] => [
    ...listContainers().filter((c) => sampleIds.includes(c)),
    ...readdirSync(dep.local('edge-1').cgroups.cpu, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'ctr')
      .map((e) => `cgroup ${e.name}`),
  ];

  before(async () => {
    process.env['EDGECHAOS_STATE_DIR'] = state;
    reg = CleanupRegistry.open(runId, state);
    stack = await loadStack();
    dep = await deployLocalEdges(['rpi4'], { runId, dir, registry: reg });
  });
  after(async () => {
    try {
      await teardownLocal(dep, reg, dir);
    } finally {
      if (savedState === undefined) delete process.env['EDGECHAOS_STATE_DIR'];
      else process.env['EDGECHAOS_STATE_DIR'] = savedState;
    }
  });

  it('scores the samples asked for after a discarded warm start, the board weight raised only meanwhile', async () => {
    assert.equal(shares(), '1024');
    const seen = new Set<string>();
    const watch = setInterval(() => seen.add(shares()), 5);
    let ms: number[];
    try {
      ms = (await ociColdStarts(dep, stack, 2))!;
    } finally {
      clearInterval(watch);
    }
    assert.equal(ms.length, 2);
    assert.ok(
      ms.every((m) => m > 0 && m < 20_000),
      String(ms),
    );
    assert.ok(seen.has(String(measuredShares)), `weight while sampling: ${[...seen].join(', ')}`);
    assert.equal(shares(), '1024', 'restored after');
    const ev = JSON.parse(readFileSync(join(dep.runDir, 'oci-startup.json'), 'utf8')) as {
      cpuShares: number;
      samples: { mode: string; ms: number[] }[];
    };
    assert.equal(ev.cpuShares, measuredShares);
    assert.deepEqual(
      ev.samples.map((s) => [s.mode, s.ms.length]),
      [
        ['container-cold', 2],
        ['container-warm', 2],
      ],
    );
    assert.deepEqual(ev.samples[1]!.ms, ms, 'the warm starts are the scored ones');
    // three warm starts ran (each logs), the first not scored
    for (const tag of ['w0', 'w1', 'w2'])
      assert.ok(existsSync(join(dep.runDir, 'logs', `edge-1-start-${tag}.log`)), `start ${tag} ran`);
    assert.ok(!existsSync(join(dep.runDir, 'logs', 'edge-1-start-w3.log')));
    assert.deepEqual(samplesLeft(), []);
  });

  it('restores the weight and leaves no sample behind when interrupted', async () => {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 150);
    await assert.rejects(ociColdStarts(dep, stack, 5, ac.signal)!, /interrupted/);
    clearTimeout(t);
    assert.equal(shares(), '1024');
    assert.deepEqual(samplesLeft(), []);
  });

  it('leaves nothing of the run after teardown', async () => {
    await dep.teardown();
    assert.deepEqual(ociTraces(runId), []);
  });
});
