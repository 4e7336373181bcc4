import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { containerSpec, envValue, mergeEnv, resolveUser } from '../../src/targets/local/oci/spec.ts';
import { checkEntrypoint, resolveInRootfs } from '../../src/targets/local/oci/unpack.ts';
import { tempDir } from '../helpers/temp.ts';
import type { ImageConfig } from '../../src/images/archive.ts';

const base = {
  rootfs: '/r/rootfs',
  args: ['/edge-agent'],
  env: ['A=1'],
  cwd: '/',
  uid: 65532,
  gid: 65532,
  hostname: 'edge-1',
  netnsPath: '/var/run/netns/ec-r-edge-1',
  cgroupsPath: '/ec-r-edge-1/ctr',
  dataDir: { host: '/runs/r/data/edge-1', container: '/data' },
};

describe('oci container spec', () => {
  it('should join the node netns by path, sit under the board cgroup, drop every capability, read-only root', () => {
    const s = containerSpec(base);
    const ns = s.linux['namespaces'] as { type: string; path?: string }[];
    assert.deepEqual(ns.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
    assert.equal(ns.find((n) => n.type === 'network')?.path, '/var/run/netns/ec-r-edge-1');
    assert.equal(
      ns.some((n) => n.type === 'user'),
      false,
    );
    assert.equal(s.linux['cgroupsPath'], '/ec-r-edge-1/ctr');
    assert.deepEqual(s.root, { path: '/r/rootfs', readonly: true });
    const p = s.process as {
      capabilities: Record<string, string[]>;
      noNewPrivileges: boolean;
      user: { uid: number };
    };
    for (const set of Object.values(p.capabilities)) assert.deepEqual(set, []);
    assert.equal(p.noNewPrivileges, true);
    assert.equal(p.user.uid, 65532);
    const data = s.mounts.find((m) => m.destination === '/data');
    assert.deepEqual(data, {
      destination: '/data',
      type: 'bind',
      source: '/runs/r/data/edge-1',
      options: ['rbind', 'rw', 'nosuid', 'nodev'],
    });
  });

  it('should refuse no args and a relative data path', () => {
    assert.throws(() => containerSpec({ ...base, args: [] }), /no process arguments/);
    assert.throws(() => containerSpec({ ...base, dataDir: { host: '/x', container: 'data' } }), /absolute/);
  });

  it('should resolve image users as a container engine does', () => {
    const passwd = 'root:x:0:0::/root:/bin/sh\nedge:x:1000:1001::/home/edge:/bin/sh\n';
    const group = 'root:x:0:\nedge:x:1001:\nstaff:x:50:\n';
    assert.deepEqual(resolveUser('', passwd, group), { uid: 0, gid: 0 });
    assert.deepEqual(resolveUser('65532:65532', '', ''), { uid: 65532, gid: 65532 });
    assert.deepEqual(resolveUser('1000', passwd, group), { uid: 1000, gid: 1001 });
    assert.deepEqual(resolveUser('edge', passwd, group), { uid: 1000, gid: 1001 });
    assert.deepEqual(resolveUser('edge:staff', passwd, group), { uid: 1000, gid: 50 });
    assert.throws(() => resolveUser('nobody', passwd, group), /"nobody" is not in the image's \/etc\/passwd/);
    assert.throws(() => resolveUser('edge:wheel', passwd, group), /group "wheel"/);
  });

  it('should merge env with later lists winning', () => {
    const e = mergeEnv(['PATH=/bin', 'EDGE_LISTEN=:8080'], { EDGE_LISTEN: '10.0.0.1:7001' }, ['X=a=b']);
    assert.deepEqual(e, ['PATH=/bin', 'EDGE_LISTEN=10.0.0.1:7001', 'X=a=b']);
    assert.equal(envValue(e, 'X'), 'a=b');
    assert.equal(envValue(e, 'Y'), undefined);
  });
});

describe('oci rootfs checks', () => {
  const img = (rootfs: string, over: Partial<ImageConfig>): Parameters<typeof checkEntrypoint>[0] => ({
    rootfs,
    unpackMs: 0,
    cached: false,
    config: {
      file: '/images/x.tar',
      id: 'sha256:0',
      architecture: 'amd64',
      entrypoint: [],
      cmd: [],
      env: [],
      workingDir: '/',
      user: '',
      layerCount: 1,
      uncompressedBytes: 0,
      compressedBytes: 0,
      ...over,
    },
  });

  it('should follow symlinks inside the rootfs, re-rooting absolute targets', () => {
    using d = tempDir('oci-rootfs');
    mkdirSync(join(d.path, 'usr/bin'), { recursive: true });
    writeFileSync(join(d.path, 'usr/bin/python3.11'), '\x7fELF', { mode: 0o755 });
    symlinkSync('python3.11', join(d.path, 'usr/bin/python3'));
    symlinkSync('/usr/bin', join(d.path, 'bin'));
    assert.equal(resolveInRootfs(d.path, '/bin/python3'), join(d.path, 'usr/bin/python3.11'));
    assert.equal(resolveInRootfs(d.path, '/bin/nope'), undefined);
  });

  it('should name the image and the path when the entrypoint or its interpreter is missing', () => {
    using d = tempDir('oci-entry');
    mkdirSync(join(d.path, 'usr/bin'), { recursive: true });
    writeFileSync(join(d.path, 'start.sh'), '#!/bin/sh\nexec /agent\n', { mode: 0o755 });
    writeFileSync(join(d.path, 'usr/bin/agent'), '\x7fELF', { mode: 0o755 });
    writeFileSync(join(d.path, 'noexec'), '\x7fELF', { mode: 0o644 });
    assert.throws(
      () => checkEntrypoint(img(d.path, { entrypoint: ['/edge-agent'] })),
      (e: Error & { file?: string }) =>
        /entrypoint \/edge-agent does not exist in the image/.test(e.message) && e.file === '/images/x.tar',
    );
    assert.throws(
      () => checkEntrypoint(img(d.path, { entrypoint: ['/start.sh'] })),
      /interpreter of \/start.sh: \/bin\/sh does not exist/,
    );
    assert.throws(() => checkEntrypoint(img(d.path, { cmd: ['/noexec'] })), /not an executable file/);
    assert.throws(() => checkEntrypoint(img(d.path, {})), /neither Entrypoint nor Cmd/);
    assert.deepEqual(checkEntrypoint(img(d.path, { entrypoint: ['agent'], cmd: ['-v'] })).args, [
      'agent',
      '-v',
    ]);
  });
});

describe('oci architectures', () => {
  it('should put the emulator in front as a read-only bind mount when given one', () => {
    const s = containerSpec({
      ...base,
      extraMounts: [{ host: '/usr/bin/qemu-aarch64-static', container: '/.q' }],
    });
    const m = s.mounts.find((x) => x.destination === '/.q');
    assert.deepEqual(m, {
      destination: '/.q',
      type: 'bind',
      source: '/usr/bin/qemu-aarch64-static',
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    });
    assert.equal(
      containerSpec(base).mounts.find((x) => x.destination === '/.q'),
      undefined,
    );
  });

  it("should pick the arm64 archive beside the manifest's amd64 one, and name the file it looked for when missing", async () => {
    const { archiveFor, emulatorFor, hostArch } = await import('../../src/targets/local/oci/arch.ts');
    const { loadStack } = await import('../../src/stack/manifest.ts');
    const amd = (await loadStack()).images['edge-agent']!;
    assert.equal(archiveFor(amd, 'amd64', 'f'), amd);
    assert.equal(archiveFor(amd, 'arm64', 'f'), amd.replace('-amd64.tar', '-arm64.tar'));
    using dir = tempDir('oci-arch');
    const { copyFileSync } = await import('node:fs');
    const lone = join(dir.path, 'x-amd64.tar');
    copyFileSync(amd, lone);
    assert.throws(
      () => archiveFor(lone, 'arm64', 'f'),
      /no arm64 image beside .*x-amd64\.tar \(looked for .*x-arm64\.tar/,
    );
    assert.equal(emulatorFor(hostArch, 'img'), undefined, 'a native image runs without an emulator');
    assert.throws(() => emulatorFor('s390x', 'img'), /cannot run here/);
  });
});
