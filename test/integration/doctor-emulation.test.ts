import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot, toolsDir } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { debianMissing } from '../../src/tools/bootstrap.ts';
import { probeEmulation } from '../../src/tools/emulation.ts';
import { readToolsLock } from '../../src/tools/lock.ts';

const doctorJson = async () => {
  const r = await run([process.execPath, join(repoRoot, 'bin/edgechaos.mjs'), 'doctor', '--json'], {
    allowFailure: true,
    cwd: repoRoot,
  });
  return JSON.parse(r.stdout) as {
    tools: { name: string; found: boolean; version?: string; path?: string; ok: boolean }[];
    capabilities: { name: string; ok: boolean; detail: string; optional?: boolean }[];
  };
};

describe('doctor: the arm64 emulator (Debian qemu-user-static)', () => {
  it('should be among the Debian packages bootstrap installs, and installed here', async () => {
    assert.ok(readToolsLock().debian.includes('qemu-user-static'), 'tools.lock.json debian list');
    assert.deepEqual(await debianMissing(['qemu-user-static']), [], 'scripts/bootstrap installs it');
  });

  it("should report qemu-aarch64-static with the Debian package's version and that emulated arm64 works", async () => {
    const rep = await doctorJson();
    const q = rep.tools.find((t) => t.name === 'qemu-aarch64-static');
    assert.ok(q?.found, 'qemu-aarch64-static reported as found');
    const pkg = await run(['dpkg-query', '-W', '-f=${Version}', 'qemu-user-static']);
    // Debian 1:7.2+dfsg-7+deb12u18 → upstream 7.2; the binary says 7.2.<n>
    const upstream = /^(?:\d+:)?(\d+\.\d+)/.exec(pkg.stdout)?.[1];
    assert.ok(upstream, pkg.stdout);
    assert.ok(q.version?.startsWith(`${upstream}.`), `version ${q.version} of package ${pkg.stdout}`);
    const cap = rep.capabilities.find((c) => c.name === 'emulated arm64');
    assert.equal(cap?.ok, true, cap?.detail);
    assert.equal(cap.optional, true);
    assert.match(cap.detail, /ran a linux\/arm64 ELF \(toxiproxy-server -version → 2\.5\.0\)/);
  });

  it('should say emulated arm64 is unavailable when the emulator is missing or does not emulate', async () => {
    const elf = join(toolsDir(), 'bin', 'linux-arm64', 'toxiproxy-server');
    const missing = await probeEmulation('/nonexistent/qemu-aarch64-static', elf);
    assert.equal(missing.ok, false);
    assert.match(missing.detail, /did not run the linux\/arm64 binary/);
    // an "emulator" that exits 0 without running anything
    const fake = await probeEmulation('/bin/true', elf);
    assert.equal(fake.ok, false, fake.detail);
    // a native binary proves nothing about emulation: refused before running
    const native = await probeEmulation(
      '/usr/bin/qemu-aarch64-static',
      join(toolsDir(), 'bin', 'toxiproxy-server'),
    );
    assert.equal(native.ok, false);
    assert.match(native.detail, /is not a linux\/arm64 ELF/);
    const real = await probeEmulation('/usr/bin/qemu-aarch64-static', elf);
    assert.equal(real.ok, true, real.detail);
  });
});
