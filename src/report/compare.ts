import { table } from '../core/text-table.ts';
import { basename, resolve } from 'node:path';
import type { RunRecord } from '../campaign/record.ts';
import type { ChartAssets } from './assets.ts';
import type { NamedChartData } from './chart-data.ts';
import { formatBytes, formatMetric } from './format.ts';
import { esc, palette } from './html.ts';
import { buildLeaderboard, renderLeaderboardHtml } from './leaderboard.ts';

export interface ComparedRun {
  /** Short name shown in the columns (the run directory's name). */
  label: string;
  dir: string;
  record: RunRecord;
}

export type Direction = 'higher-is-better' | 'lower-is-better' | undefined;

export interface ComparisonRow {
  kind: 'score' | 'criterion' | 'metric' | 'gate';
  key: string;
  title: string;
  direction: Direction;
  /** Per run, aligned with `runs`: the number (undefined = not measured) and its text. */
  cells: { value: number | undefined; text: string }[];
  /** Per run, difference to the first run (the baseline); undefined for the baseline or when missing. */
  deltas: (number | undefined)[];
  /** The metric's unit (metric rows), so deltas of sizes print in the same binary units as the cells. */
  unit?: string;
}

export interface Comparison {
  runs: { label: string; dir: string; runId: string; scenario: string; stack: string; startedAt: string }[];
  rows: ComparisonRow[];
}

/** Metrics everyone looks at first, besides those the rubric scores. */
const keyMetrics = [
  'sync.lost',
  'sync.duplicated',
  'sync.indeterminate',
  'sync.converge-ms',
  'offline.success-rate',
  'offline.p99-ms',
  'offline.restarts',
];

/** Direction of a metric when no rubric term tells it. */
export function guessDirection(metric: string): Direction {
  if (/(success-rate|pass-ratio|acknowledged|throughput|share)/.test(metric)) return 'higher-is-better';
  if (/(lost|duplicated|restarts|indeterminate|-ms$|bytes|cpu|overhead|spread|failed|errors)/.test(metric))
    return 'lower-is-better';
  return undefined;
}

/** Pure: runs side by side — score, points per criterion, gates and key metrics — with deltas to the first. */
export function compareRuns(runs: readonly ComparedRun[]): Comparison {
  const rows: ComparisonRow[] = [];
  const deltas = (cells: { value: number | undefined }[]): (number | undefined)[] =>
    cells.map((c, i) => {
      const base = cells[0]?.value;
      return i === 0 || c.value === undefined || base === undefined ? undefined : c.value - base;
    });
  const row = (r: Omit<ComparisonRow, 'deltas'>): void => void rows.push({ ...r, deltas: deltas(r.cells) });

  row({
    kind: 'score',
    key: 'score.percent',
    title: 'Score (% of measured criteria)',
    direction: 'higher-is-better',
    cells: runs.map((r) => ({
      value: r.record.score.percent,
      text: `${r.record.score.percent.toFixed(1)}%`,
    })),
  });
  row({
    kind: 'score',
    key: 'score.total',
    title: 'Points',
    direction: 'higher-is-better',
    cells: runs.map((r) => ({
      value: r.record.score.total,
      text: `${r.record.score.total.toFixed(1)} / ${r.record.score.possible}`,
    })),
  });
  row({
    kind: 'gate',
    key: 'gates',
    title: 'Gates',
    direction: 'higher-is-better',
    cells: runs.map((r) => ({
      value: r.record.gatesPassed ? 1 : 0,
      text: r.record.gatesPassed ? 'pass' : `FAIL (${r.record.score.failedGates.length} gate(s))`,
    })),
  });

  const criteria = new Map<string, string>();
  for (const r of runs)
    for (const c of r.record.score.criteria) if (!criteria.has(c.id)) criteria.set(c.id, c.title);
  for (const [id, title] of criteria)
    row({
      kind: 'criterion',
      key: id,
      title,
      direction: 'higher-is-better',
      cells: runs.map((r) => {
        const c = r.record.score.criteria.find((x) => x.id === id);
        return c?.points === undefined
          ? { value: undefined, text: 'not measured' }
          : { value: c.points, text: `${c.points.toFixed(1)} / ${c.weight}` };
      }),
    });

  // Metrics the rubric scores (direction from how each run normalised them) and the key ones.
  const metrics = new Map<string, Direction>();
  for (const r of runs)
    for (const c of r.record.score.criteria)
      for (const t of c.terms) if (!metrics.has(t.metric)) metrics.set(t.metric, undefined);
  for (const m of keyMetrics) if (!metrics.has(m)) metrics.set(m, undefined);
  for (const m of metrics.keys()) metrics.set(m, guessDirection(m));
  for (const [m, direction] of metrics) {
    const cells = runs.map((r) => {
      const v = r.record.metrics[m];
      return v ? { value: v.value, text: formatMetric(m, v) } : { value: undefined, text: '—' };
    });
    if (cells.every((c) => c.value === undefined)) continue;
    const unit = runs.map((r) => r.record.metrics[m]?.unit).find((u) => u !== undefined);
    row({ kind: 'metric', key: m, title: m, direction, cells, ...(unit ? { unit } : {}) });
  }
  return {
    runs: runs.map((r) => ({
      label: r.label,
      dir: r.dir,
      runId: r.record.runId,
      scenario: r.record.scenario.name,
      stack: `${r.record.stack.name} ${r.record.stack.version}`,
      startedAt: r.record.startedAt,
    })),
    rows,
  };
}

/** "better" / "worse" / undefined for a delta in a row's direction (tiny differences are neither). */
export function judge(row: ComparisonRow, delta: number | undefined): 'better' | 'worse' | undefined {
  if (delta === undefined || row.direction === undefined) return undefined;
  const base = Math.abs(row.cells[0]?.value ?? 0);
  if (Math.abs(delta) <= Math.max(1e-9, base * 1e-3)) return undefined;
  return delta > 0 === (row.direction === 'higher-is-better') ? 'better' : 'worse';
}

function deltaText(row: ComparisonRow, d: number | undefined): string {
  if (d === undefined || row.kind === 'gate') return '';
  if (d === 0) return '=';
  const j = judge(row, d);
  const mark = j === 'better' ? ' ▲' : j === 'worse' ? ' ▼' : '';
  const unit = row.cells[0]?.text.endsWith('%') && row.kind === 'score' ? ' pt' : '';
  const abs = Math.abs(d);
  const n =
    row.unit === 'B'
      ? formatBytes(abs)
      : Number.isInteger(abs) || abs >= 100
        ? abs.toFixed(0)
        : abs >= 1
          ? abs.toFixed(1)
          : abs.toPrecision(2);
  return `${d >= 0 ? '+' : '−'}${n}${unit}${mark}`;
}

/** The comparison as a plain-text table for the terminal (deltas against the first run, ▲ better ▼ worse). */
export function renderComparisonText(cmp: Comparison): string {
  const header = ['', ...cmp.runs.map((r) => r.label)];
  const rows = cmp.rows.map((row) => [
    row.title,
    ...row.cells.map((c, i) => {
      const d = deltaText(row, row.deltas[i]);
      return d ? `${c.text} (${d})` : c.text;
    }),
  ]);
  return [
    ...cmp.runs.map(
      (r, i) =>
        `${i === 0 ? 'baseline' : `run ${i + 1}`}: ${r.label} = ${r.stack}, ${r.scenario}, ${r.startedAt}`,
    ),
    '',
    table(rows, header),
  ].join('\n');
}

/** The scoreboard table of a comparison (deltas against the first run), as HTML. */
export function renderComparisonTable(cmp: Comparison): string {
  const cell = (row: ComparisonRow, i: number): string => {
    const c = row.cells[i]!;
    const d = row.deltas[i];
    const j = judge(row, d);
    return `<td class="num${c.value === undefined ? ' muted' : ''}" data-value="${c.value ?? ''}">${esc(c.text)}${
      d !== undefined ? `<div class="${j ? `delta-${j}` : 'muted'}">${esc(deltaText(row, d))}</div>` : ''
    }</td>`;
  };
  return `<table id="comparison"><thead><tr><th>Measure</th>${cmp.runs.map((r) => `<th class="num">${esc(r.label)}</th>`).join('')}</tr></thead><tbody>
${cmp.rows
  .map(
    (row) =>
      `<tr class="${row.kind}" data-key="${esc(row.key)}"><td>${row.kind === 'metric' ? `<code>${esc(row.title)}</code>` : esc(row.title)}</td>${row.cells.map((_, i) => cell(row, i)).join('')}</tr>`,
  )
  .join('\n')}
</tbody></table>`;
}

/** Pure: the comparison's two charts — points per criterion (a dot per run) and the score per run. */
export function comparisonCharts(cmp: Comparison): NamedChartData {
  const criteria = cmp.rows.filter((r) => r.kind === 'criterion');
  const percent = cmp.rows.find((r) => r.key === 'score.percent');
  return {
    nodes: [],
    faults: [],
    palette,
    charts: [
      {
        id: 'criteria',
        title: 'Points per criterion',
        unit: 'pts',
        xFormat: 'index',
        xNames: criteria.map((c) => c.key),
        height: 300,
        x: criteria.map((_, i) => i),
        lines: cmp.runs.map((r, i) => ({
          label: r.label,
          color: palette[i % palette.length]!,
          dots: true,
          values: criteria.map((c) => c.cells[i]?.value ?? null),
        })),
        markers: [],
        faults: false,
      },
      {
        id: 'score',
        title: 'Score per run',
        unit: '%',
        xFormat: 'index',
        xNames: cmp.runs.map((r) => r.label),
        height: 220,
        x: cmp.runs.map((_, i) => i),
        lines: [
          {
            label: 'score',
            color: '#111827',
            values: cmp.runs.map((_, i) => percent?.cells[i]?.value ?? null),
          },
        ],
        markers: [],
        faults: false,
      },
    ],
  };
}

/**
 * `report compare`'s page: the leaderboard page (each run a submission of one repetition) with the
 * comparison's two charts and the deltas table below it. Links are relative to `pageDir`.
 */
export function renderComparisonHtml(
  runs: readonly ComparedRun[],
  assets: ChartAssets,
  o: { pageDir: string; generatedAt?: string },
): string {
  const cmp = compareRuns(runs);
  const board = buildLeaderboard(
    'compare',
    runs.map((r) => ({
      submission: r.label,
      scenario: r.record.scenario.name,
      repetition: 1,
      seed: r.record.seed,
      dir: r.dir,
      record: r.record,
    })),
    ...(o.generatedAt ? [o.generatedAt] : []),
  );
  return renderLeaderboardHtml(board, {
    pageDir: o.pageDir,
    title: `Comparison of ${runs.length} runs`,
    charts: { data: comparisonCharts(cmp), assets },
    extra: `<h2>Side by side (deltas against ${esc(runs[0]!.label)})</h2>\n${renderComparisonTable(cmp)}`,
  });
}

export function runLabel(dir: string): string {
  return basename(resolve(dir));
}
