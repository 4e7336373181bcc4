import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ScenarioError, UsageError } from '../../../core/errors.ts';
import { imageConfig } from '../../../images/archive.ts';
import { which } from '../../../tools/find.ts';

export type Arch = 'amd64' | 'arm64';

/** The host's architecture in OCI terms. */
export const hostArch: Arch = process.arch === 'arm64' ? 'arm64' : 'amd64';

/** Where the emulator is bind-mounted inside an emulated container (read-only, a static binary). */
export const emulatorPath = '/.edgechaos-qemu';

const qemuName: Record<Arch, string> = { arm64: 'qemu-aarch64-static', amd64: 'qemu-x86_64-static' };
export const qemuHint = 'apt-get install -y qemu-user-static (Debian)';

/**
 * The archive of `archive`'s image for `arch`: the archive itself when it is of that architecture, else
 * its sibling named with the other arch (`edge-agent-amd64.tar` → `edge-agent-arm64.tar`, what
 * stack/build.sh writes). Errors name the file looked for.
 */
export function archiveFor(archive: string, arch: Arch, field: string): string {
  if (imageConfig(archive).architecture === arch) return archive;
  const name = basename(archive).replace(/-(amd64|arm64)(\.[a-z.]+)$/, `-${arch}$2`);
  const sibling = join(dirname(archive), name);
  if (name === basename(archive) || !existsSync(sibling))
    throw new ScenarioError(`no ${arch} image beside ${archive} (looked for ${sibling}; build the stack)`, {
      file: archive,
      field,
    });
  const got = imageConfig(sibling).architecture;
  if (got !== arch)
    throw new ScenarioError(`${sibling} is a ${got} image, not ${arch}`, { file: sibling, field });
  return sibling;
}

/**
 * How a container of an `arch` image runs on this host: natively (undefined) or under the Debian
 * qemu-user-static emulator, called explicitly as the container's entrypoint wrapper (no binfmt_misc
 * registration: nothing on the host changes). Returns the emulator's host path.
 */
export function emulatorFor(arch: string, image: string): string | undefined {
  if (arch === hostArch) return undefined;
  if (arch !== 'arm64' && arch !== 'amd64')
    throw new ScenarioError(`image architecture ${arch} cannot run here (${hostArch})`, { file: image });
  const q = which(qemuName[arch]);
  if (!q) throw new UsageError(`${image} is ${arch}: emulating it needs ${qemuName[arch]}: ${qemuHint}`);
  return q;
}
