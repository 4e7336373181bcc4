import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { toolsDir } from '../core/paths.ts';
import { run } from '../core/proc.ts';
import { which } from './find.ts';

/**
 * Emulated nodes (`arch: arm64` on an amd64 host, src/targets/local/oci/arch.ts) run their image under
 * Debian's qemu-user-static, called explicitly (no binfmt_misc). doctor reports the emulator and proves
 * it works by running a real foreign ELF under it: the other arch's toxiproxy-server that bootstrap
 * cross-builds (tools.lock.json `crossArch`).
 */
export type Arch = 'amd64' | 'arm64';

export const hostArch: Arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
/** The architecture a node on this host runs under emulation. */
export const guestArch: Arch = hostArch === 'amd64' ? 'arm64' : 'amd64';
export const emulatorName: Record<Arch, string> = {
  arm64: 'qemu-aarch64-static',
  amd64: 'qemu-x86_64-static',
};
export const emulatorHint = 'apt-get install -y qemu-user-static (Debian; edgechaos bootstrap installs it)';
const elfMachine: Record<Arch, number> = { arm64: 0xb7, amd64: 0x3e };

export interface EmulationStatus {
  ok: boolean;
  detail: string;
}

/** e_machine of an ELF file, or undefined when it is not one. */
function elfMachineOf(file: string): number | undefined {
  const b = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, b, 0, 20, 0) < 20 || b.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `emulator` runs a `guestArch` binary here: `elf` (default: bootstrap's cross-built
 * toxiproxy-server) must be an ELF of that arch, and `<emulator> <elf> -version` must print its version.
 */
export async function probeEmulation(
  emulator: string | undefined = which(emulatorName[guestArch]),
  elf: string = join(toolsDir(), 'bin', `linux-${guestArch}`, 'toxiproxy-server'),
): Promise<EmulationStatus> {
  if (!emulator) return { ok: false, detail: `${emulatorName[guestArch]} not found: ${emulatorHint}` };
  if (!existsSync(elf))
    return { ok: false, detail: `not probed: no linux/${guestArch} binary at ${elf} (edgechaos bootstrap)` };
  if (elfMachineOf(elf) !== elfMachine[guestArch])
    return { ok: false, detail: `not probed: ${elf} is not a linux/${guestArch} ELF` };
  const t0 = performance.now();
  const r = await run([emulator, elf, '-version'], {
    allowFailure: true,
    signal: AbortSignal.timeout(30_000),
  }).catch((e: unknown) => ({ code: -1, stdout: '', stderr: String(e) }));
  const ms = Math.round(performance.now() - t0);
  const version = /version (\S+)/.exec(r.stdout)?.[1];
  if (r.code !== 0 || version === undefined)
    return {
      ok: false,
      detail: `${emulator} did not run the linux/${guestArch} binary ${elf} (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}`,
    };
  return {
    ok: true,
    detail: `${emulator} ran a linux/${guestArch} ELF (toxiproxy-server -version → ${version}) in ${ms} ms; nodes with arch: ${guestArch} run under it, their timings not scored`,
  };
}
