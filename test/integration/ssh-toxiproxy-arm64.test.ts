import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { toolsDir } from '../../src/core/paths.ts';
import { run } from '../../src/core/proc.ts';
import { crossArchOf, ensureGoToolCross } from '../../src/tools/bootstrap.ts';
import { readToolsLock } from '../../src/tools/lock.ts';
import { toxiproxyFor } from '../../src/targets/ssh/target.ts';

/** e_machine and whether a PT_INTERP program header (a dynamic loader) exists, read straight from the file. */
function elfFacts(path: string): { machine: number; cls: number; interp: boolean } {
  const b = readFileSync(path);
  assert.equal(b.subarray(0, 4).toString('latin1'), '\x7fELF', `${path} is an ELF file`);
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  let interp = false;
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3) interp = true;
  return { machine: b.readUInt16LE(18), cls: b[4]!, interp };
}

describe('toxiproxy-server for arm64 cloud boards', () => {
  it('should be cross-built by bootstrap from the pinned version as a static aarch64 ELF, and picked for arm64', async (t) => {
    const go = await run(['go', 'version'], { allowFailure: true }).catch(() => undefined);
    assert.ok(
      go?.code === 0,
      'go is needed to build toxiproxy-server (install Go >= 1.26, then scripts/bootstrap)',
    );
    const lock = readToolsLock();
    const tool = lock.go['toxiproxy-server']!;
    assert.deepEqual(crossArchOf(tool), ['arm64'], 'tools.lock.json asks for an arm64 build');
    const t0 = performance.now();
    const r = await ensureGoToolCross('toxiproxy-server', tool, 'arm64', join(toolsDir(), 'logs'));
    t.diagnostic(`toxiproxy-server linux/arm64: ${r.status} in ${Math.round(performance.now() - t0)} ms`);
    const bin = join(toolsDir(), 'bin', 'linux-arm64', 'toxiproxy-server');
    const elf = elfFacts(bin);
    assert.equal(elf.cls, 2, '64-bit');
    assert.equal(elf.machine, 183, 'e_machine EM_AARCH64');
    assert.equal(elf.interp, false, 'static (no program interpreter)');
    assert.ok(readFileSync(bin).includes('2.5.0'), 'the pinned version is stamped in');
    assert.equal(readFileSync(`${bin}.version`, 'utf8').trim(), r.detail);
    assert.match(r.detail, new RegExp(`@${tool.version} .*GOARCH=arm64$`));
    assert.equal(toxiproxyFor('arm64'), bin, 'an arm64 cloud board gets the arm64 build');
    const native = toxiproxyFor('amd64');
    assert.ok(native, 'the amd64 (harness) build is there too');
    assert.equal(elfFacts(native).machine, 62, 'and it is x86-64');
    // Idempotent: a second call keeps what is there.
    assert.equal(
      (await ensureGoToolCross('toxiproxy-server', tool, 'arm64', join(toolsDir(), 'logs'))).status,
      'present',
    );
  });
});
