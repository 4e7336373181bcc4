import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedBuild, type CachedBuildSpec } from '../../src/tools/cached-build.ts';

const root = mkdtempSync(join(tmpdir(), 'cached-build-'));
after(() => rmSync(root, { recursive: true, force: true }));

function fileSpec(dir: string, stamp: string, builds: string[]): CachedBuildSpec {
  return {
    stamp,
    outputs: [{ cache: join(dir, 'cache', 'tool@v1'), dest: join(dir, 'bin', 'tool') }],
    cacheStamp: join(dir, 'cache', 'tool@v1.version'),
    destStamp: join(dir, 'bin', 'tool.version'),
    build: ([out]) => {
      builds.push(stamp);
      writeFileSync(out!, `#!/bin/sh\necho ${stamp}\n`, { mode: 0o755 });
      return Promise.resolve();
    },
  };
}

describe('cachedBuild', () => {
  it('builds once, then reuses the checkout copy, then the machine cache in a fresh checkout', async () => {
    const dir = join(root, 'a');
    const builds: string[] = [];
    assert.equal((await cachedBuild(fileSpec(dir, 's1', builds))).status, 'built');
    assert.equal((await cachedBuild(fileSpec(dir, 's1', builds))).status, 'present');
    rmSync(join(dir, 'bin'), { recursive: true });
    assert.equal((await cachedBuild(fileSpec(dir, 's1', builds))).status, 'cached');
    assert.deepEqual(builds, ['s1']);
    assert.equal(readFileSync(join(dir, 'bin', 'tool'), 'utf8'), '#!/bin/sh\necho s1\n');
    assert.equal(lstatSync(join(dir, 'bin', 'tool')).mode & 0o777, 0o755);
    assert.equal(readFileSync(join(dir, 'bin', 'tool.version'), 'utf8'), 's1\n');
  });

  it('a changed stamp rebuilds and replaces both copies', async () => {
    const dir = join(root, 'b');
    const builds: string[] = [];
    await cachedBuild(fileSpec(dir, 's1', builds));
    assert.equal((await cachedBuild(fileSpec(dir, 's2', builds))).status, 'built');
    assert.deepEqual(builds, ['s1', 's2']);
    assert.match(readFileSync(join(dir, 'bin', 'tool'), 'utf8'), /s2/);
    assert.equal(readFileSync(join(dir, 'cache', 'tool@v1.version'), 'utf8'), 's2\n');
  });

  it('a failed build leaves no cache entry and no staging behind', async () => {
    const dir = join(root, 'c');
    const spec = fileSpec(dir, 's1', []);
    await assert.rejects(
      cachedBuild({
        ...spec,
        build: ([out]) => (writeFileSync(out!, 'half'), Promise.reject(new Error('boom'))),
      }),
      /boom/,
    );
    assert.equal(existsSync(join(dir, 'cache', 'tool@v1')), false);
    assert.equal(existsSync(join(dir, 'cache', 'tool@v1.version')), false);
    assert.equal(existsSync(join(dir, 'cache', `tool@v1.build-${process.pid}`)), false);
  });

  it('directory outputs keep their symlinks and must hold every required file', async () => {
    const dir = join(root, 'd');
    let n = 0;
    const spec: CachedBuildSpec = {
      stamp: 'k1',
      outputs: [{ cache: join(dir, 'cache', 'kube', 'bin'), dest: join(dir, 'tools', 'kube', 'bin') }],
      cacheStamp: join(dir, 'cache', 'kube', 'stamp'),
      destStamp: join(dir, 'tools', 'kube', 'stamp'),
      required: ['hyperkube', 'kube-apiserver'],
      build: ([bin]) => {
        n++;
        mkdirSync(bin!, { recursive: true });
        writeFileSync(join(bin!, 'hyperkube'), 'x', { mode: 0o755 });
        symlinkSync('hyperkube', join(bin!, 'kube-apiserver'));
        return Promise.resolve();
      },
    };
    assert.equal((await cachedBuild(spec)).status, 'built');
    assert.equal(readlinkSync(join(dir, 'tools', 'kube', 'bin', 'kube-apiserver')), 'hyperkube');
    rmSync(join(dir, 'tools', 'kube', 'bin', 'kube-apiserver'));
    assert.equal((await cachedBuild(spec)).status, 'cached', 'an incomplete checkout copy is replaced');
    rmSync(join(dir, 'cache', 'kube', 'bin', 'kube-apiserver'));
    rmSync(join(dir, 'tools'), { recursive: true });
    assert.equal((await cachedBuild(spec)).status, 'built', 'an incomplete cache entry is rebuilt');
    assert.equal(n, 2);
  });

  it('copy: false keeps the artefact in the cache only', async () => {
    const dir = join(root, 'e');
    const spec = { ...fileSpec(dir, 'i1', []), copy: false };
    assert.equal((await cachedBuild(spec)).status, 'built');
    assert.equal(existsSync(join(dir, 'bin', 'tool')), false);
    assert.equal((await cachedBuild(spec)).status, 'cached');
  });
});
