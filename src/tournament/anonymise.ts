import {
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * Anonymised publishing of a run's directory: every file the leaderboard links to is rewritten so that
 * it names no submission. A replacement is a literal string (a submission's name, its stack's name) or
 * a path (the folder holding its manifest, absolute or as recorded) replaced only where a path starts
 * there (an absolute one also where it ends; a relative one only before a `/`, so a short folder like
 * `stack` is not replaced inside other words).
 */
export interface Replacement {
  from: string;
  to: string;
  /** `path`: only where a path starts with it (not inside a longer path or word), see above. */
  kind: 'literal' | 'path';
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const htmlEscape = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

/** Pure: the replacements of one run, longest first (a name inside another name is replaced last). */
export function replacementsFor(
  own: { name: string; pseudonym: string; stackName?: string; manifest?: string; recordedManifest?: string },
  /** The other submissions (a run may use another's files, e.g. its images: their folders are replaced too). */
  others: readonly { name: string; pseudonym: string; manifest?: string }[],
  root: string,
): Replacement[] {
  const out: Replacement[] = [];
  const lit = (from: string | undefined, to: string): void => {
    if (!from) return;
    for (const f of new Set([from, htmlEscape(from), JSON.stringify(from).slice(1, -1)]))
      out.push({ from: f, to, kind: 'literal' });
  };
  for (const o of others) lit(o.name, o.pseudonym);
  lit(own.name, own.pseudonym);
  lit(own.stackName, own.pseudonym);
  const folders = (pseudonym: string, manifests: readonly (string | undefined)[]): void => {
    const dirs = new Set<string>();
    for (const m of manifests) {
      if (!m) continue;
      const d = dirname(m);
      if (d !== '.' && d !== '/') dirs.add(d);
      const rel = relative(root, d);
      if (rel && !rel.startsWith('..') && rel !== d) dirs.add(rel);
    }
    for (const d of dirs) out.push({ from: d, to: pseudonym, kind: 'path' });
  };
  folders(own.pseudonym, [own.manifest, own.recordedManifest]);
  for (const o of others) folders(o.pseudonym, [o.manifest]);
  const seen = new Set<string>();
  return out
    .filter((r) => r.from !== r.to && !seen.has(`${r.kind}:${r.from}`) && seen.add(`${r.kind}:${r.from}`))
    .sort((a, b) => b.from.length - a.from.length);
}

/** Pure: `text` with every replacement made. */
export function anonymiseText(text: string, reps: readonly Replacement[]): string {
  let t = text;
  for (const r of reps)
    t =
      r.kind === 'literal'
        ? t.split(r.from).join(r.to)
        : t.replace(
            // an absolute folder also where it ends; a relative one only before a `/`
            new RegExp(
              `(?<![\\w./-])${escapeRe(r.from)}${r.from.startsWith('/') ? '(?![\\w.-])' : '(?=/)'}`,
              'g',
            ),
            r.to,
          );
  return t;
}

/** Pure: does `text` still hold something a replacement would change? */
export function leaks(text: string, reps: readonly Replacement[]): boolean {
  return anonymiseText(text, reps) !== text;
}

/**
 * Rewrite every file under `dir` (names too) with the replacements. A binary file (one holding a NUL
 * byte) or a symbolic link that would need a replacement cannot be rewritten safely: it is removed,
 * and listed.
 */
export function anonymiseTree(
  dir: string,
  reps: readonly Replacement[],
): { rewritten: string[]; removed: string[] } {
  const rewritten: string[] = [];
  const removed: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d)) {
      let p = join(d, entry);
      const named = anonymiseText(entry, reps);
      if (named !== entry) {
        renameSync(p, join(d, named));
        p = join(d, named);
      }
      const st = lstatSync(p);
      if (st.isDirectory()) {
        walk(p);
        continue;
      }
      if (st.isSymbolicLink()) {
        // a link is not followed (its target may be outside the published tree) nor rewritten
        if (leaks(readlinkSync(p), reps)) {
          rmSync(p);
          removed.push(relative(dir, p));
        }
        continue;
      }
      if (!st.isFile()) continue;
      const buf = readFileSync(p);
      const text = buf.toString('utf8');
      if (!leaks(text, reps)) continue;
      if (buf.includes(0)) {
        rmSync(p);
        removed.push(relative(dir, p));
      } else {
        writeFileSync(p, anonymiseText(text, reps));
        rewritten.push(relative(dir, p));
      }
    }
  };
  walk(dir);
  return { rewritten, removed };
}
