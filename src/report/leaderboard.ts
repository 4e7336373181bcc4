import { relative } from 'node:path';
import type { RunRecord } from '../campaign/record.ts';
import type { ChartAssets } from './assets.ts';
import type { NamedChartData } from './chart-data.ts';
import { chartParts } from './chart-script.ts';
import { baseCss, esc } from './html.ts';
import { xml } from './junit.ts';
import { bootstrapInterval, rankEntries, seedOf, type Interval } from './leaderboard-stats.ts';

/**
 * The leaderboard of a tournament (and of `report compare`, where each run is a submission of one
 * repetition): pure, from run records. Per submission the median score over repetitions, min–max and a
 * seeded bootstrap 95 % interval of the median, per criterion and per track area; ranks that say when
 * neighbours are statistically tied (overlapping intervals); gate failures first.
 */

export interface LeaderboardRun {
  /** The submission's (published) name. */
  submission: string;
  scenario: string;
  /** 1-based repetition. */
  repetition: number;
  seed: number;
  /** The run directory (its report is `index.html` there). */
  dir: string;
  record: RunRecord;
}

export interface LeaderboardEntry {
  submission: string;
  rank: number;
  /** Statistically tied with the entry ranked just above (overlapping 95 % intervals). */
  tiedWithAbove: boolean;
  /** Every run passed every gate and check. */
  gatesPassed: boolean;
  /** Failed gates and checks over all runs, with how many runs failed each. */
  failures: { what: string; runs: number }[];
  /** Score (% of the measured criteria), mean over scenarios per repetition, over repetitions. */
  score: Interval;
  criteria: Record<string, Interval>;
  areas: Record<string, Interval>;
  runs: {
    scenario: string;
    repetition: number;
    seed: number;
    runId: string;
    dir: string;
    percent: number;
    gatesPassed: boolean;
  }[];
}

export interface Leaderboard {
  schema: 'edgechaos.leaderboard/v1';
  name: string;
  generatedAt: string;
  rubric: { name: string; version: string };
  scenarios: string[];
  repetitions: number;
  /** How ties are decided, in words (shown on the page). */
  tieRule: string;
  criteria: { id: string; title: string; area: string; weight: number }[];
  entries: LeaderboardEntry[];
}

export const tieRule =
  'neighbours are tied when their bootstrap 95 % intervals of the median score overlap (2000 seeded resamples of the repetitions); tied entries share a rank';

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Per repetition, one value: the mean over scenarios of `value(record)` (runs where it is undefined
 * are left out); repetitions with no value are left out.
 */
function perRepetition(
  runs: readonly LeaderboardRun[],
  value: (r: RunRecord) => number | undefined,
): number[] {
  const reps = [...new Set(runs.map((r) => r.repetition))].sort((a, b) => a - b);
  const out: number[] = [];
  for (const rep of reps) {
    const xs = runs
      .filter((r) => r.repetition === rep)
      .map((r) => value(r.record))
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (xs.length) out.push(mean(xs));
  }
  return out;
}

function areaPercent(r: RunRecord, area: string): number | undefined {
  const cs = r.score.criteria.filter((c) => c.area === area && c.points !== undefined);
  const weight = cs.reduce((a, c) => a + c.weight, 0);
  return weight ? (cs.reduce((a, c) => a + c.points!, 0) / weight) * 100 : undefined;
}

function failuresOf(runs: readonly LeaderboardRun[]): LeaderboardEntry['failures'] {
  const counts = new Map<string, number>();
  for (const { record: r } of runs) {
    const what = new Set<string>([
      ...r.score.failedGates.map((g) => `gate ${g}`),
      ...r.checks.filter((c) => c.status === 'failed').map((c) => `check ${c.id}`),
      ...(r.error ? ['campaign error'] : []),
      ...(r.interrupted ? ['interrupted'] : []),
    ]);
    for (const w of what) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts].map(([what, n]) => ({ what, runs: n })).sort((a, b) => a.what.localeCompare(b.what));
}

/** Pure: the leaderboard of these runs (deterministic: the bootstrap is seeded by submission and measure). */
export function buildLeaderboard(
  name: string,
  runs: readonly LeaderboardRun[],
  generatedAt = new Date().toISOString(),
): Leaderboard {
  if (runs.length === 0) throw new Error('a leaderboard needs at least one run');
  const submissions = [...new Set(runs.map((r) => r.submission))];
  const criteria = new Map<string, Leaderboard['criteria'][number]>();
  for (const r of runs)
    for (const c of r.record.score.criteria)
      if (!criteria.has(c.id))
        criteria.set(c.id, { id: c.id, title: c.title, area: c.area, weight: c.weight });
  const areas = [...new Set([...criteria.values()].map((c) => c.area))];
  const entries = submissions.map((submission): Omit<LeaderboardEntry, 'rank' | 'tiedWithAbove'> => {
    const mine = runs.filter((r) => r.submission === submission);
    const interval = (measure: string, value: (r: RunRecord) => number | undefined): Interval | undefined => {
      const xs = perRepetition(mine, value);
      return xs.length ? bootstrapInterval(xs, seedOf(`${submission}\0${measure}`)) : undefined;
    };
    const pick = (
      keys: Iterable<string>,
      f: (k: string) => Interval | undefined,
    ): Record<string, Interval> => {
      const o: Record<string, Interval> = {};
      for (const k of keys) {
        const v = f(k);
        if (v) o[k] = v;
      }
      return o;
    };
    return {
      submission,
      gatesPassed: mine.every((r) => r.record.gatesPassed),
      failures: failuresOf(mine),
      score: interval('score', (r) => (r.interrupted ? undefined : r.score.percent))!,
      criteria: pick(criteria.keys(), (id) =>
        interval(`criterion ${id}`, (r) => r.score.criteria.find((c) => c.id === id)?.points),
      ),
      areas: pick(areas, (a) => interval(`area ${a}`, (r) => areaPercent(r, a))),
      runs: mine
        .map((r) => ({
          scenario: r.scenario,
          repetition: r.repetition,
          seed: r.seed,
          runId: r.record.runId,
          dir: r.dir,
          percent: r.record.score.percent,
          gatesPassed: r.record.gatesPassed,
        }))
        .sort((a, b) => a.repetition - b.repetition || a.scenario.localeCompare(b.scenario)),
    };
  });
  const scored = entries.map((e) => ({
    ...e,
    score: e.score ?? { n: 0, median: 0, min: 0, max: 0, lo: 0, hi: 0 },
  }));
  const ranked = rankEntries(scored, (e) => ({
    gatesPassed: e.gatesPassed,
    interval: e.score,
    name: e.submission,
  }));
  const first = runs[0]!.record;
  return {
    schema: 'edgechaos.leaderboard/v1',
    name,
    generatedAt,
    rubric: { name: first.score.rubric.name, version: first.score.rubric.version },
    scenarios: [...new Set(runs.map((r) => r.scenario))],
    repetitions: Math.max(...runs.map((r) => r.repetition)),
    tieRule,
    criteria: [...criteria.values()],
    entries: ranked.map((r) => ({ ...r.item, rank: r.rank, tiedWithAbove: r.tiedWithAbove })),
  };
}

const f1 = (x: number): string => x.toFixed(1);
const spread = (i: Interval): string => `${f1(i.min)}–${f1(i.max)}`;
const ci = (i: Interval): string => `[${f1(i.lo)}, ${f1(i.hi)}]`;

function intervalCell(i: Interval | undefined, cls = ''): string {
  if (!i) return `<td class="num muted ${cls}">not measured</td>`;
  return `<td class="num ${cls}" data-median="${i.median}" data-lo="${i.lo}" data-hi="${i.hi}" data-min="${i.min}" data-max="${i.max}"><span class="median">${f1(i.median)}</span><div class="muted small"><span class="ci">${ci(i)}</span> · <span class="range">${spread(i)}</span></div></td>`;
}

export interface LeaderboardHtmlOptions {
  /** Links to run reports are made relative to this directory (where the page is written). */
  pageDir: string;
  /** An extra section after the leaderboard (e.g. `report compare`'s deltas table), as HTML. */
  extra?: string;
  title?: string;
  /** Charts drawn after the per-criterion table (`report compare`'s), uPlot inlined. */
  charts?: { data: NamedChartData; assets: ChartAssets };
}

/**
 * The leaderboard as one self-contained HTML page (no external resources; no scripts unless it has
 * charts).
 */
export function renderLeaderboardHtml(lb: Leaderboard, o: LeaderboardHtmlOptions): string {
  const charts = o.charts ? chartParts(o.charts.data, o.charts.assets) : undefined;
  const link = (dir: string): string => esc(`${relative(o.pageDir, dir) || '.'}/index.html`);
  const failed = lb.entries.filter((e) => !e.gatesPassed);
  const areas = [...new Set(lb.criteria.map((c) => c.area))];
  const rankText = (e: LeaderboardEntry): string => (e.tiedWithAbove ? `=${e.rank}` : String(e.rank));
  const tiedWith = (e: LeaderboardEntry, i: number): string =>
    e.tiedWithAbove ? `tied with ${lb.entries[i - 1]!.submission}` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title ?? `edgechaos leaderboard: ${lb.name}`)}</title>
<style>${baseCss} .small{font-size:12px} tr.gate-failed td:first-child{border-left:4px solid var(--bad)} td.rank{font-weight:700;font-size:16px}</style>${charts?.css ?? ''}
</head><body><main>
<h1>${esc(o.title ?? `Leaderboard: ${lb.name}`)}</h1>
<p class="muted">${lb.entries.length} submission(s) × ${lb.scenarios.length} scenario(s) (${esc(lb.scenarios.join(', '))}) × ${lb.repetitions} repetition(s) · rubric ${esc(lb.rubric.name)} v${esc(lb.rubric.version)} · generated ${esc(lb.generatedAt)}</p>
<p class="muted">Scores are % of the measured criteria: the median over repetitions (each repetition the mean over scenarios), its bootstrap 95 % interval <code>[lo, hi]</code> and min–max. Ties: ${esc(lb.tieRule)}. Submissions whose every run passed every gate and check rank first.</p>
<h2>Gate failures</h2>
${
  failed.length
    ? `<table id="gate-failures"><thead><tr><th>Submission</th><th>Failed</th></tr></thead><tbody>
${failed
  .map(
    (e) =>
      `<tr data-submission="${esc(e.submission)}"><td>${esc(e.submission)}</td><td>${e.failures
        .map(
          (f) =>
            `<span class="badge failed">${esc(f.what)}</span> <span class="muted small">${f.runs}/${e.runs.length} runs</span>`,
        )
        .join('<br>')}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`
    : '<p id="gate-failures" class="badge passed">every run of every submission passed every gate</p>'
}
<h2>Ranking</h2>
<table id="leaderboard"><thead><tr><th>Rank</th><th>Submission</th><th>Gates</th><th class="num">Score %</th>${areas
    .map((a) => `<th class="num">${esc(a)} %</th>`)
    .join('')}<th>Runs</th></tr></thead><tbody>
${lb.entries
  .map(
    (e, i) =>
      `<tr data-submission="${esc(e.submission)}" data-rank="${e.rank}" data-tied="${e.tiedWithAbove}" class="${e.gatesPassed ? '' : 'gate-failed'}"><td class="rank">${rankText(e)}<div class="muted small tie">${esc(tiedWith(e, i))}</div></td><td>${esc(e.submission)}</td><td><span class="badge ${e.gatesPassed ? 'passed' : 'failed'}">${e.gatesPassed ? 'pass' : 'FAIL'}</span></td>${intervalCell(e.score, 'score')}${areas
        .map((a) => intervalCell(e.areas[a], 'area'))
        .join('')}<td class="small">${e.runs
        .map(
          (r) =>
            `<a class="run" href="${link(r.dir)}" title="${esc(`${r.scenario} repetition ${r.repetition}, seed ${r.seed}, ${r.runId}`)}">${esc(r.scenario)} #${r.repetition}: ${f1(r.percent)}${r.gatesPassed ? '' : ' ✗'}</a>`,
        )
        .join('<br>')}</td></tr>`,
  )
  .join('\n')}
</tbody></table>
<h2>Per criterion (points)</h2>
<table id="criteria"><thead><tr><th>Criterion</th><th>Area</th><th class="num">Weight</th>${lb.entries
    .map((e) => `<th class="num">${esc(e.submission)}</th>`)
    .join('')}</tr></thead><tbody>
${lb.criteria
  .map(
    (c) =>
      `<tr data-criterion="${esc(c.id)}"><td>${esc(c.title)}</td><td>${esc(c.area)}</td><td class="num">${c.weight}</td>${lb.entries
        .map((e) => intervalCell(e.criteria[c.id]))
        .join('')}</tr>`,
  )
  .join('\n')}
</tbody></table>
${charts ? `<h2>Charts</h2>\n${charts.sections}\n` : ''}${o.extra ?? ''}
<p class="muted">Generated by edgechaos. Each run's evidence: its report, one click away in the Runs column.${o.charts ? ` Charts: uPlot ${esc(o.charts.assets.version)} (inlined).` : ''}</p>
</main>${charts?.scripts ?? ''}</body></html>
`;
}

/** JUnit XML of the leaderboard: one case per submission, failed when any of its runs failed a gate or check. */
export function renderLeaderboardJUnit(lb: Leaderboard): string {
  const failures = lb.entries.filter((e) => !e.gatesPassed).length;
  const cases = lb.entries.map((e) => {
    const props = [
      ['rank', `${e.tiedWithAbove ? '=' : ''}${e.rank}`],
      ['score.median', e.score.median.toFixed(2)],
      ['score.ci95', `${e.score.lo.toFixed(2)}..${e.score.hi.toFixed(2)}`],
      ['score.range', `${e.score.min.toFixed(2)}..${e.score.max.toFixed(2)}`],
    ];
    const body = e.gatesPassed
      ? ''
      : `<failure message="${xml(e.failures.map((f) => f.what).join(', '))}" type="gate-failed">${xml(
          e.failures.map((f) => `${f.what}: ${f.runs}/${e.runs.length} runs`).join('\n'),
        )}</failure>`;
    return `    <testcase classname="edgechaos.tournament.${xml(lb.name)}" name="${xml(e.submission)}" time="0">
      <properties>${props.map(([k, v]) => `<property name="${xml(k)}" value="${xml(v)}"/>`).join('')}</properties>${body}
    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="edgechaos leaderboard ${xml(lb.name)}" tests="${lb.entries.length}" failures="${failures}" errors="0">
  <testsuite name="leaderboard" tests="${lb.entries.length}" failures="${failures}" errors="0" skipped="0" time="0" timestamp="${xml(lb.generatedAt.replace(/\.\d+Z$/, ''))}">
${cases.join('\n')}
  </testsuite>
</testsuites>
`;
}
