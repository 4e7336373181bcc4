import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EvidenceFile } from './html-report.ts';

/** Files a report links as raw evidence; directories that hold data, not evidence, are not entered. */
const evidenceExt = /\.(log|jsonl|ndjson|json|xml|pdf|png|txt|csv|html)$/;
const skipDirs = new Set(['images', 'node_modules', 'allure-results', 'allure-report']);
const maxFiles = 200;

function labelOf(rel: string): string {
  const parts = rel.split('/');
  const base = parts[parts.length - 1]!;
  const fixed: Record<string, string> = {
    'run.json': 'Run record',
    'junit.xml': 'JUnit XML',
    'report.pdf': 'PDF report',
    'report.png': 'Report screenshot',
    'load/samples.jsonl': 'Load samples',
    'load/load-runner.log': 'Load runner log',
    'allure-results': 'Allure results',
    'allure-report/index.html': 'Allure report',
  };
  if (fixed[rel]) return fixed[rel];
  if (/ledger/i.test(base)) return `Cloud ledger dump (${base})`;
  const name = base.replace(evidenceExt, '');
  if (parts[0] === 'logs') return parts.length > 2 ? `${parts[1]} ${name} log` : `${name} log`;
  if (base.endsWith('.log')) return `${parts.slice(0, -1).join(' ')} ${name} log`.trim();
  return rel;
}

/**
 * The raw evidence of a run directory as links for the report: run.json, logs, load samples, ledger
 * dumps, JUnit, and (present, or about to be written by this report run) the PDF, PNG and Allure output.
 * Sorted, at most 200 files, sizes from the disk.
 */
export function listEvidenceFiles(
  runDir: string,
  planned: { pdf?: boolean; allureResults?: boolean; allureHtml?: boolean } = {},
): EvidenceFile[] {
  const found = new Map<string, number | undefined>();
  const walk = (rel: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(join(runDir, rel)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (found.size >= maxFiles) return;
      const r = rel ? `${rel}/${name}` : name;
      let st;
      try {
        st = statSync(join(runDir, r));
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < 3 && !skipDirs.has(name) && !name.startsWith('cold-')) walk(r, depth + 1);
      } else if (st.isFile() && evidenceExt.test(name) && r !== 'index.html') found.set(r, st.size);
    }
  };
  walk('', 0);
  const has = (rel: string): boolean => {
    try {
      statSync(join(runDir, rel));
      return true;
    } catch {
      return false;
    }
  };
  if (planned.pdf) {
    if (!found.has('report.pdf')) found.set('report.pdf', undefined);
    if (!found.has('report.png')) found.set('report.png', undefined);
  }
  if (planned.allureResults || has('allure-results')) found.set('allure-results', undefined);
  if (planned.allureHtml || has('allure-report/index.html')) found.set('allure-report/index.html', undefined);
  const rank = (rel: string): number =>
    rel === 'run.json'
      ? 0
      : rel.startsWith('logs/')
        ? 1
        : rel.startsWith('load/')
          ? 2
          : /ledger/i.test(rel)
            ? 3
            : 4;
  return [...found.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([href, bytes]) => ({ label: labelOf(href), href, ...(bytes === undefined ? {} : { bytes }) }));
}
