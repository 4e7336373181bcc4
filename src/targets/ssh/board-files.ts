import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../core/paths.ts';

/** Files and commands the ssh target puts on boards (pure helpers). */

/** Board-side undo of every toxic: restart toxiproxy (its supervisor starts it again from its config). */
export const toxicsUndo = (pidFile: string): string[] => [
  'sh',
  '-c',
  'p=$(cat "$1" 2>/dev/null) && kill "$p" 2>/dev/null; exit 0',
  'ec-reset-toxics',
  pidFile,
];

/** The device in `ip -o route get <addr>` output (pure). */
export function uplinkDevOf(text: string): string | undefined {
  return / dev (\S+)/.exec(text)?.[1];
}

/** The right-arch file for a local stack command: `…/linux-amd64/x` → `…/linux-<arch>/x` (pure). */
export function archVariant(path: string, arch: 'amd64' | 'arm64'): string {
  return path.replace(
    /([/_-])(linux-)?(amd64|arm64|x86_64|aarch64)([/_.-])/,
    (_m, a: string, l: string | undefined, _x, b: string) => `${a}${l ?? ''}${arch}${b}`,
  );
}

/**
 * A bundled static helper for a board arch (stack/build.sh builds ec-stress and ec-fusefs for amd64
 * and arm64), when it was built and its ELF header says that arch.
 */
export function bundledTool(
  name: 'ec-stress' | 'ec-fusefs',
  arch: 'amd64' | 'arm64',
  dist = join(repoRoot, 'stack', 'dist'),
): string | undefined {
  const p = join(dist, 'bin', `linux-${arch}`, name);
  return existsSync(p) && elfArch(p) === arch ? p : undefined;
}

/** The bundled static stressor for a board arch, when it was built. */
export const bundledStressor = (arch: 'amd64' | 'arm64', dist?: string): string | undefined =>
  bundledTool('ec-stress', arch, dist);

/** The Linux arch of an ELF executable, from its header's e_machine (62 x86-64, 183 aarch64). */
export function elfArch(path: string): 'amd64' | 'arm64' | undefined {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(20);
      if (readSync(fd, head, 0, 20, 0) < 20) return undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return undefined; // ELF64 LE
  const machine = head.readUInt16LE(18);
  return machine === 62 ? 'amd64' : machine === 183 ? 'arm64' : undefined;
}
