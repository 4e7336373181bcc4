import { readFileSync } from 'node:fs';
import { run } from './proc.ts';

/** Mount points at or under `path` (from /proc/self/mountinfo, unescaped), deepest first. */
export function mountsAt(path: string, mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): string[] {
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return mountinfo
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === path || m.startsWith(`${path}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmount everything at or under `path`, deepest first (lazily: a dead FUSE layer or a busy tmpfs still goes). */
export async function unmountAll(path: string): Promise<void> {
  if (!path.startsWith('/') || path.split('/').length < 3) throw new Error(`bad mount path ${path}`);
  for (let i = 0; i < 8; i++) {
    const at = mountsAt(path);
    if (at.length === 0) return;
    for (const m of at) {
      const r = await run(['umount', '-l', m], { allowFailure: true });
      if (r.code !== 0 && !/not mounted|no mount point|No such file/i.test(r.stderr))
        throw new Error(`umount ${m}: ${r.stderr.trim()}`);
    }
  }
  if (mountsAt(path).length) throw new Error(`${path} is still mounted`);
}
