import type { RunRecord } from '../campaign/record.ts';
import type { CapacitySearchRecord } from '../record/schema.ts';
import type { CheckResult } from '../checks/types.ts';
import type { LatencyStats } from '../load/summary.ts';
import type { CriterionResult } from '../scoring/types.ts';
import type { ChartAssets } from './assets.ts';
import type { ChartData } from './chart-data.ts';
import { chartScript } from './chart-script.ts';
import {
  formatBytes,
  formatEmulated,
  formatMetric,
  formatOffset,
  formatPoints,
  formatRuntimes,
} from './format.ts';
import { baseCss, esc, inlineScript, palette, scriptJson } from './html.ts';
import { evidenceLabel, metricLabel } from './labels.ts';
import { provenanceEntries } from './provenance.ts';
import {
  checkStatus,
  criterionReason,
  criterionStatus,
  failedGates,
  gateStatus,
  isInterrupted,
  provenanceOf,
  type CheckStatus,
} from './record-view.ts';

const reportCss = `
header.top { display:flex; justify-content:space-between; align-items:flex-start; gap:24px; }
.score { text-align:right; } .score .big { font-size:34px; font-weight:700; line-height:1.1; font-variant-numeric:tabular-nums; }
.verdict { font-size:15px; padding:3px 12px; }
.facts { display:grid; grid-template-columns:repeat(auto-fill,minmax(250px,1fr)); gap:4px 24px; margin-top:12px; }
.facts div span:first-child { color:var(--muted); display:inline-block; min-width:78px; }
.gates { border-left:4px solid var(--bad); background:var(--badbg); padding:10px 14px; border-radius:4px; margin:14px 0; }
.gates ul { margin:4px 0 0; padding-left:20px; }
tr.total td { font-weight:700; border-top:2px solid var(--fg); }
td .norm { color:var(--muted); font-size:12px; }
#score-table td:first-child { width:23%; } #score-table td:nth-child(2) { width:36%; }
#score-table .term { margin-bottom:2px; } #score-table .term .key { margin:0 4px 0 2px; }
#score-table .gate { white-space:nowrap; margin-bottom:2px; } #score-table .gate code { font-size:11.5px; }
.chart { width:100%; min-height:250px; }
.chart-grid { display:block; }
.check h3 { display:flex; gap:8px; align-items:center; }
.kv td:first-child { color:var(--muted); width:38%; }
.legend-nodes span { display:inline-block; margin-right:14px; } .legend-nodes i { display:inline-block; width:12px; height:12px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
.key { color:var(--muted); font-size:11px; margin-left:4px; } .card > p:first-child { margin-top:0; }
.gates li { margin:3px 0; } .gates .zeroed { font-weight:700; color:var(--bad); }
.not-provided { color:var(--bad); background:var(--badbg); border:1px dashed var(--bad); }
.reason { color:var(--bad); font-size:12px; }
.prov { display:grid; grid-template-columns:minmax(180px,auto) 1fr; gap:2px 16px; }
.prov div:nth-child(odd) { color:var(--muted); } .prov code { word-break:break-all; }
ul.files { columns:2; margin:6px 0 0; padding-left:18px; } ul.files li { break-inside:avoid; }
@media print {
  /* The PDF page (A4 landscape at 0.8) is wider than the screen column; two charts side by side. */
  main { max-width:none; padding:0; }
  .chart-grid { display:grid; grid-template-columns:1fr 1fr; gap:0 12px; }
  .chart-grid .card { margin:6px 0; min-width:0; } .chart-grid .chart { overflow:hidden; }
  h2, h3 { break-after:avoid; } tr, .term, .kv td { break-inside:avoid; }
  section.card:has(.chart) { break-inside:avoid; }
  /* A check card may be taller than a page: let it break rather than leave a half-empty page. */
  section.card.check { break-inside:auto; }
  .evidence pre { max-height:none; }
  .evidence details:not([open]) { display:none; }
}
`;

export interface HtmlReportInput {
  record: RunRecord;
  charts: ChartData;
  assets: ChartAssets;
  /** When the report was generated (ISO); fixed in tests. */
  generatedAt: string;
  /** Raw evidence in the run directory (logs, samples, ledger dump, PDF, Allure), linked relatively. */
  evidenceFiles?: EvidenceFile[];
}

/** A file (or directory) of the run directory that the report links to. */
export interface EvidenceFile {
  /** What it is, for people: "edge-1 log", "load samples". */
  label: string;
  /** Path relative to the run directory (the report sits at its top). */
  href: string;
  /** Size in bytes, when a file. */
  bytes?: number;
}

/** Pure: the self-contained scoring report (one HTML file, uPlot and data inlined, no network). */
export function renderHtmlReport({
  record: r,
  charts,
  assets,
  generatedAt,
  evidenceFiles,
}: HtmlReportInput): string {
  const s = r.score;
  const interrupted = isInterrupted(r);
  const passed = r.gatesPassed && !interrupted;
  const durationS = (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;
  const failedChecks = r.checks.filter((c) => {
    const st = checkStatus(c);
    return st === 'failed' || st === 'not-provided';
  });
  const prov = provenanceOf(r);
  const runtimes = formatRuntimes(r.evidence?.runtimes);
  const title = `edgechaos · ${r.scenario.name} · ${r.runId}`;
  const chartsJson = scriptJson({ ...charts, palette });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${assets.css}</style>
<style>${baseCss}${reportCss}</style>
</head><body>
<main>
<header class="top">
  <div>
    <h1>${esc(r.scenario.name)} <span class="muted">· ${esc(r.stack.name)} ${esc(r.stack.version)}</span></h1>
    <div class="muted">${esc(r.scenario.description)}</div>
    <div class="facts">
      ${prov?.label ? `<div><span>competitor</span> <strong id="label">${esc(prov.label)}</strong></div>` : ''}
      <div><span>run</span> <code>${esc(r.runId)}</code></div>
      <div><span>target</span> ${esc(r.target.kind)}</div>
      <div><span>seed</span> <code id="seed">${esc(r.seed)}</code></div>
      <div><span>rubric</span> ${esc(r.rubric.name)} v${esc(s.rubric.version)}</div>
      <div><span>started</span> ${esc(r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}</div>
      <div><span>duration</span> ${durationS.toFixed(1)} s</div>
      <div><span>scenario</span> <code>${esc(r.scenario.file)}</code></div>
      <div><span>stack</span> <code>${esc(r.stack.file)}</code></div>
      <div><span>nodes</span> ${r.nodes.map((n) => `${esc(n.name)} <span class="muted">(${esc(n.profile)})</span>`).join(', ')}</div>
      ${runtimes ? `<div id="runtimes"><span>runtime</span> ${esc(runtimes)}</div>` : ''}
      ${r.harness ? `<div><span>harness</span> ${(r.harness.shareOfOneCore * 100).toFixed(1)}% of one core during load</div>` : ''}
    </div>
  </div>
  <div class="score">
    <div class="big" id="score-total">${s.total.toFixed(1)} <span class="muted" style="font-size:20px">/ ${esc(s.possible)}</span></div>
    <div class="muted" id="score-percent">${s.percent.toFixed(1)}% of the measured criteria</div>
    <div style="margin-top:8px"><span class="badge verdict ${passed ? 'pass' : 'fail'}" id="verdict">${interrupted ? 'INTERRUPTED' : passed ? 'PASS' : 'FAIL'}</span></div>
  </div>
</header>
${r.error ? `<div class="gates"><strong>The campaign stopped early:</strong> ${esc(r.error)}</div>` : ''}
${interrupted ? '<div class="gates" id="interrupted"><strong>The run was interrupted:</strong> it is not a complete measurement and scores nothing.</div>' : ''}
${failuresFirst(r, failedChecks)}
<h2>Score</h2>
${scoreTable(r)}
<h2>Verdicts</h2>
${verdictTable(r.checks)}
${provenanceSection(r, evidenceFiles ?? [])}
<h2>Load and faults over time</h2>
<div class="legend-nodes" id="legend-nodes">${charts.nodes
    .map((n, i) => `<span><i style="background:${palette[i % palette.length]}"></i>${esc(n)}</span>`)
    .join(
      '',
    )} <span class="muted">— bars: fault windows (a row per node, split where its faults overlap); dashed lines: where each starts and ends</span></div>
<div class="chart-grid">
${charts.charts.map((c) => chartCard(c.id, c.title, c.caption)).join('\n')}
</div>
<h2>Faults</h2>
${faultTable(r)}
<h2>Checks and evidence</h2>
${r.checks.map(checkCard).join('\n')}
<h2>Load summary</h2>
${loadSummary(r)}
${capacitySection(r)}
<h2>Timeline</h2>
${timelineTable(r)}
<p class="muted" style="margin-top:32px">Generated by edgechaos ${esc(generatedAt)} from run.json · charts: uPlot ${esc(assets.version)} (inlined).</p>
</main>
<script>${inlineScript(assets.js)}</script>
<script type="application/json" id="chart-data">${chartsJson}</script>
<script>${inlineScript(chartScript)}</script>
</body></html>
`;
}

/**
 * What went wrong, before anything else: each failed gate with the criterion it guards (and whether it
 * zeroed it), criteria the submission did not provide (zero, with the reason), then failed checks.
 */
function failuresFirst(r: RunRecord, failedChecks: readonly CheckResult[]): string {
  const gates = failedGates(r);
  const notProvided = r.score.criteria.filter((c) => criterionStatus(c) === 'not-provided');
  if (gates.length === 0 && notProvided.length === 0 && failedChecks.length === 0) return '';
  const gateItems = gates.map(({ criterion: c, gate: g, zeroed }) => {
    const what = `${g.gate.metric} ${g.gate.op} ${g.gate.value}`;
    const measured = g.measured === undefined ? 'nothing' : String(g.measured);
    const effect = zeroed
      ? `<span class="zeroed">zeroed <a href="#criterion-${esc(c.id)}">${esc(c.title)}</a>: 0 / ${esc(c.weight)} points</span>`
      : `<a href="#criterion-${esc(c.id)}">${esc(c.title)}</a>: ${esc(formatPoints(c.points))} / ${esc(c.weight)} points`;
    return `<li data-gate="${esc(c.id)}">gate <code>${esc(what)}</code> failed (measured ${esc(measured)}) — ${effect}<div class="muted">${esc(g.gate.because)}</div></li>`;
  });
  const npItems = notProvided.map((c) => {
    const reason = criterionReason(c);
    return `<li data-not-provided="${esc(c.id)}"><a href="#criterion-${esc(c.id)}">${esc(c.title)}</a>: not provided, <span class="zeroed">0 / ${esc(c.weight)} points</span>${reason ? ` — ${esc(reason)}` : ''}</li>`;
  });
  const checkItems = failedChecks.map(
    (c) =>
      `<li><a href="#check-${esc(c.id)}">${esc(c.title)}</a>${checkStatus(c) === 'not-provided' ? ' (not provided)' : ''}: ${esc(c.summary)}</li>`,
  );
  const head = [
    `${gates.length} rubric gate(s)`,
    ...(notProvided.length ? [`${notProvided.length} criterion(s) not provided`] : []),
    `${failedChecks.length} check(s) failed`,
  ];
  const last = head.pop()!;
  return `<div class="gates" id="failed-gates"><strong>${head.join(', ')} and ${last}</strong><ul>
${[...gateItems, ...npItems, ...checkItems].join('\n')}
</ul></div>`;
}

function provenanceSection(r: RunRecord, files: readonly EvidenceFile[]): string {
  const prov = provenanceOf(r);
  const entries = prov ? provenanceEntries(prov) : [];
  const facts = entries.length
    ? `<div class="prov" id="provenance">${entries
        .map(
          (e) =>
            `<div>${esc(e.label)}</div><div data-key="${esc(e.key)}">${/sha256|digest|commit/i.test(e.key) || e.key.startsWith('stack.image.') ? `<code>${esc(e.value)}</code>` : esc(e.value)}</div>`,
        )
        .join('')}</div>`
    : '<p class="muted" id="provenance">This run record has no provenance (written by an older edgechaos).</p>';
  const links = files.length
    ? `<ul class="files" id="evidence-files">${files
        .map(
          (f) =>
            `<li><a href="${esc(f.href.split('/').map(encodeURIComponent).join('/'))}">${esc(f.label)}</a> <span class="muted mono">${esc(f.href)}${f.bytes === undefined ? '' : ` · ${esc(formatBytes(f.bytes))}`}</span></li>`,
        )
        .join('')}</ul>`
    : '';
  return `<h2>Provenance and raw evidence</h2>
<section class="card">${facts}${links ? `<h3 style="margin-top:12px">Raw evidence in the run directory</h3>${links}` : ''}</section>`;
}

function checkAnchor(source: string | undefined): string | undefined {
  const m = source?.match(/^check:(.+)$/);
  return m ? `check-${m[1]}` : undefined;
}

function scoreTable(r: RunRecord): string {
  const s = r.score;
  const rows = s.criteria.map((c) => criterionRow(c)).join('\n');
  return `<table id="score-table">
<thead><tr><th>Criterion</th><th>Measured</th><th class="num">Points</th><th class="num">Weight</th><th>Gates</th><th>Evidence</th></tr></thead>
<tbody>
${rows}
<tr class="total"><td>Total <span class="muted">(${esc(s.rubric.name)} v${esc(s.rubric.version)})</span></td><td class="num">${s.percent.toFixed(1)}%</td><td class="num" data-total="${s.total}">${s.total.toFixed(1)}</td><td class="num">${esc(s.possible)}</td><td>${s.gatesPassed ? '<span class="badge pass">all passed</span>' : `<span class="badge fail">${s.failedGates.length} failed</span>`}</td><td></td></tr>
</tbody></table>`;
}

function criterionRow(c: CriterionResult): string {
  const status = criterionStatus(c);
  const terms = c.terms
    .map((t) => {
      const v = t.measured
        ? formatMetric(t.metric, t.measured)
        : t.status === 'emulated'
          ? 'only on emulated nodes'
          : 'not measured';
      const norm =
        t.normalized === undefined ? '' : ` <span class="norm">(${Math.round(t.normalized * 100)}%)</span>`;
      const emu = t.emulated
        ? `<div class="emulated" data-emulated-metric="${esc(t.metric)}" data-value="${t.emulated.measured.value}"><span class="badge not-measured">emulated, not scored</span> ${esc(formatEmulated(t.metric, t.emulated))}</div>`
        : '';
      return `<div class="term">${esc(metricLabel(t.metric))}<code class="key">${esc(t.metric)}</code> = <span class="measured" data-metric="${esc(t.metric)}" data-value="${t.measured ? t.measured.value : ''}">${esc(v)}</span>${norm}${emu}</div>`;
    })
    .join('');
  const gates = c.gates.length
    ? c.gates
        .map((g) => {
          const gs = gateStatus(g);
          const badge =
            gs === 'passed'
              ? '<span class="badge pass">✓</span>'
              : gs === 'failed'
                ? '<span class="badge fail">✗</span>'
                : '<span class="badge not-measured">not measured</span>';
          return `<div class="gate" data-gate-status="${gs}" title="${esc(g.gate.because)}">${badge} <code>${esc(g.gate.metric)} ${esc(g.gate.op)} ${esc(g.gate.value)}</code></div>`;
        })
        .join('')
    : '<span class="muted">—</span>';
  const anchors = [
    ...new Set(c.terms.map((t) => checkAnchor(t.measured?.source)).filter((a): a is string => !!a)),
  ];
  const evidence = anchors.length
    ? anchors.map((a) => `<a href="#${esc(a)}">${esc(a.replace(/^check-/, ''))}</a>`).join('<br>')
    : '<span class="muted">—</span>';
  const reason = criterionReason(c);
  const zeroedBy = c.points === 0 ? c.gates.filter((g) => gateStatus(g) === 'failed') : [];
  const points =
    c.points === undefined
      ? `<span class="badge not-measured">${status === 'emulated' ? 'emulated, not scored' : 'not measured'}</span>`
      : status === 'not-provided'
        ? `${esc(formatPoints(c.points))}<div><span class="badge not-provided">not provided</span></div>`
        : esc(formatPoints(c.points));
  const why =
    status === 'not-provided'
      ? `<div class="reason">not provided: ${esc(reason ?? 'the submission did not provide it')}</div>`
      : zeroedBy.length
        ? `<div class="reason">zeroed by the failed gate ${zeroedBy.map((g) => `<code>${esc(g.gate.metric)} ${esc(g.gate.op)} ${esc(g.gate.value)}</code>`).join(', ')}</div>`
        : reason
          ? `<div class="muted">${esc(reason)}</div>`
          : '';
  return `<tr id="criterion-${esc(c.id)}" data-criterion="${esc(c.id)}" data-status="${esc(status)}">
<td><strong>${esc(c.title)}</strong><div class="muted mono">${esc(c.id)} · ${esc(c.area)}</div>${why}</td>
<td>${terms}</td><td class="num points" data-points="${c.points ?? ''}">${points}</td><td class="num weight">${esc(c.weight)}</td><td>${gates}</td><td>${evidence}</td></tr>`;
}

function statusBadge(s: CheckStatus): string {
  return `<span class="badge ${esc(s)}">${esc(s)}</span>`;
}

function verdictTable(checks: readonly CheckResult[]): string {
  return `<table id="verdicts"><thead><tr><th>Verdict</th><th>Check</th><th>Summary</th></tr></thead><tbody>
${checks
  .map(
    (c) =>
      `<tr data-check="${esc(c.id)}"><td>${statusBadge(checkStatus(c))}</td><td><a href="#check-${esc(c.id)}">${esc(c.title)}</a></td><td>${esc(c.summary)}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`;
}

function chartCard(id: string, title: string, caption: string): string {
  return `<section class="card"><h3>${esc(title)}</h3><div class="muted" style="margin-bottom:6px">${esc(caption)}</div><div class="chart" id="chart-${esc(id)}" data-chart="${esc(id)}"></div></section>`;
}

function faultTable(r: RunRecord): string {
  if (r.faults.length === 0) return '<p class="muted">No faults in this scenario.</p>';
  return `<table id="faults"><thead><tr><th>Fault</th><th>Kind</th><th>Node</th><th>Parameters</th><th class="num">On</th><th class="num">Off</th><th class="num">Length</th></tr></thead><tbody>
${r.faults
  .map(
    (f) =>
      `<tr><td><code>${esc(f.id)}</code></td><td>${esc(f.kind)}</td><td>${esc(f.node)}</td><td class="mono">${esc(
        Object.entries(f.params)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' '),
      )}${f.error ? ` <span class="badge fail">${esc(f.error)}</span>` : ''}</td><td class="num">${formatOffset(f.start)}</td><td class="num">${f.end === undefined ? 'until heal' : formatOffset(f.end)}</td><td class="num">${f.end === undefined ? '' : `${((f.end - f.start) / 1000).toFixed(1)} s`}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`;
}

function checkCard(c: CheckResult): string {
  const metrics = Object.entries(c.metrics);
  return `<section class="card check" id="check-${esc(c.id)}">
<h3>${statusBadge(checkStatus(c))} ${esc(c.title)}</h3>
<p>${esc(c.summary)}</p>
${
  metrics.length
    ? `<table class="kv">${metrics
        .map(
          ([k, m]) =>
            `<tr><td>${esc(metricLabel(k))}<code class="key">${esc(k)}</code></td><td>${esc(formatMetric(k, m))}${m.spread ? ` <span class="muted">(min ${esc(formatMetric(k, { value: m.spread.min, unit: m.unit }))}, max ${esc(formatMetric(k, { value: m.spread.max, unit: m.unit }))}, n=${m.spread.n})</span>` : ''}</td></tr>`,
        )
        .join('')}</table>`
    : ''
}${emulatedTable(c)}
${evidenceHtml(c)}
</section>`;
}

/** A check's timing measured on emulated nodes: shown beside its metrics, marked as not scored. */
function emulatedTable(c: CheckResult): string {
  const e = c.emulated;
  if (!e) return '';
  return `<table class="kv emulated" data-emulated-check="${esc(c.id)}"><caption><span class="badge not-measured">emulated, not scored</span></caption>${Object.entries(
    e.metrics,
  )
    .map(
      ([k, m]) =>
        `<tr><td>${esc(metricLabel(k))}<code class="key">${esc(k)}</code></td><td>${esc(formatEmulated(k, { measured: m, nodes: e.nodes }))}</td></tr>`,
    )
    .join('')}</table>`;
}

function cell(field: string, x: unknown): string {
  if (typeof x === 'number') return /bytes/i.test(field) ? formatBytes(x) : String(Number(x.toFixed(3)));
  return String(x);
}

/** `{ name: { field: scalar } }` → an HTML table of the scalar fields, or undefined for other shapes. */
function recordTable(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const rows = Object.entries(v as Record<string, unknown>);
  if (rows.length === 0 || !rows.every(([, r]) => typeof r === 'object' && r !== null && !Array.isArray(r)))
    return undefined;
  const fields = [
    ...new Set(
      rows.flatMap(([, r]) =>
        Object.entries(r as Record<string, unknown>)
          .filter(([, x]) => typeof x === 'number' || typeof x === 'string')
          .map(([f]) => f),
      ),
    ),
  ];
  if (fields.length === 0) return undefined;
  return `<table class="kv records"><thead><tr><th></th>${fields.map((f) => `<th title="${esc(f)}">${esc(evidenceLabel(f))}</th>`).join('')}</tr></thead><tbody>${rows
    .map(
      ([n, r]) =>
        `<tr><td>${esc(n)}</td>${fields
          .map((f) => {
            const x = (r as Record<string, unknown>)[f];
            return `<td>${x === undefined ? '' : esc(cell(f, x))}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
}

/** Evidence keys that hold sizes in bytes (name → bytes): shown in binary units like the metrics. */
const bytesEvidence = /bytes|images/i;

function evidenceHtml(c: CheckResult): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(c.evidence)) {
    const label = `<span class="ev-label" data-key="${esc(k)}" title="${esc(k)}">${esc(evidenceLabel(k))}</span>`;
    if (typeof v === 'string' && v.includes('\n')) {
      parts.push(`<div><strong>${label}</strong><pre>${esc(v)}</pre></div>`);
    } else if (Array.isArray(v)) {
      if (v.length === 0) {
        parts.push(`<div>${label}: <span class="muted">none</span></div>`);
        continue;
      }
      const shown = v.slice(0, 500);
      const open = c.status === 'failed' ? ' open' : '';
      parts.push(
        `<details${open}><summary>${label}: ${v.length} item(s)</summary><pre>${esc(
          shown.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('\n'),
        )}${v.length > shown.length ? `\n… ${v.length - shown.length} more in run.json` : ''}</pre></details>`,
      );
    } else if (
      typeof v === 'object' &&
      v !== null &&
      bytesEvidence.test(k) &&
      Object.values(v).length > 0 &&
      Object.values(v).every((x) => typeof x === 'number')
    ) {
      parts.push(
        `<div>${label}<table class="kv">${Object.entries(v as Record<string, number>)
          .map(([n, b]) => `<tr><td>${esc(n)}</td><td>${esc(formatBytes(b))}</td></tr>`)
          .join('')}</table></div>`,
      );
    } else if (recordTable(v)) {
      // name → { field: number | string }: a table (sizes in binary units), the full data folded below it.
      parts.push(`<div>${label}${recordTable(v)}</div>`);
      let text = JSON.stringify(v, null, 2);
      if (text.length > 20000) text = `${text.slice(0, 20000)}\n… (truncated; full data in run.json)`;
      parts.push(`<details><summary>${label}: all fields</summary><pre>${esc(text)}</pre></details>`);
    } else if (typeof v === 'object' && v !== null) {
      let text = JSON.stringify(v, null, 2);
      if (text.length > 20000) text = `${text.slice(0, 20000)}\n… (truncated; full data in run.json)`;
      parts.push(`<details><summary>${label}</summary><pre>${esc(text)}</pre></details>`);
    } else {
      const shown = typeof v === 'number' && /bytes/i.test(k) ? formatBytes(v) : String(v);
      parts.push(`<div>${label}: ${esc(shown)}</div>`);
    }
  }
  return parts.length ? `<div class="evidence">${parts.join('\n')}</div>` : '';
}

function statsRow(name: string, st: LatencyStats): string {
  const ms = (v: number): string => v.toFixed(1);
  return `<tr><td>${esc(name)}</td><td class="num">${st.count}</td><td class="num">${st.ok}</td><td class="num">${st.failed}</td><td class="num">${st.rate.toFixed(1)}</td><td class="num">${ms(st.p50)}</td><td class="num">${ms(st.p95)}</td><td class="num">${ms(st.p99)}</td><td class="num">${ms(st.max)}</td></tr>`;
}

function loadSummary(r: RunRecord): string {
  const l = r.load.summary;
  if (!l) return `<p class="muted">No load summary (the load phase did not complete).</p>`;
  const checks = Object.entries(l.checks);
  return `<div class="muted">script <code>${esc(r.load.script)}</code> · ${(l.durationMs / 1000).toFixed(1)} s · writes ok ${l.writes.ok}, failed ${l.writes.failed}, indeterminate ${l.writes.indeterminate} · dropped iterations ${l.dropped}${l.runnerCpuSeconds !== undefined ? ` · load runner CPU ${l.runnerCpuSeconds.toFixed(2)} s` : ''}</div>
<table id="load-summary"><thead><tr><th>Requests</th><th class="num">count</th><th class="num">ok</th><th class="num">failed</th><th class="num">req/s</th><th class="num">p50 ms</th><th class="num">p95 ms</th><th class="num">p99 ms</th><th class="num">max ms</th></tr></thead><tbody>
${statsRow('all', l.http)}
${Object.entries(l.byName)
  .map(([k, v]) => statsRow(`name=${k}`, v))
  .join('\n')}
${Object.entries(l.byNode)
  .map(([k, v]) => statsRow(`node=${k}`, v))
  .join('\n')}
</tbody></table>
${checks.length ? `<table style="margin-top:10px"><thead><tr><th>Load check</th><th class="num">passes</th><th class="num">fails</th></tr></thead><tbody>${checks.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${v.passes}</td><td class="num">${v.fails}</td></tr>`).join('')}</tbody></table>` : ''}`;
}

/** `--find-capacity`: each edge's highest sustained rate and every step of its search. */
function capacitySection(r: RunRecord): string {
  const c = r.evidence?.capacity;
  if (!c) return '';
  const stepsOf = (x: CapacitySearchRecord): string =>
    [...x.steps]
      .sort((p, q) => p.rate - q.rate)
      .map(
        (s) =>
          `<span class="${s.ok ? '' : 'muted'}">${s.rate}/s: p99 ${s.p99Ms.toFixed(1)} ms, errors ${(s.errorRate * 100).toFixed(2)} %${s.lagP99Ms !== undefined ? `, runner lag p99 ${s.lagP99Ms.toFixed(1)} ms` : ''}${s.dropped ? `, dropped ${s.dropped}` : ''}${s.ok ? '' : ` ✗ ${esc(s.breach ?? '')}`}</span>`,
      )
      .join('<br>');
  const cells = (x: CapacitySearchRecord): string =>
    `<td class="num">${x.capacity ?? '-'}</td><td>${esc(x.limitedBy ?? x.error ?? '')}</td><td>${stepsOf(x)}</td>`;
  const rows = c.edges
    .map((e) => {
      const calm = `<tr><td>${esc(e.node)}</td><td>healed</td>${cells(e)}</tr>`;
      const u = e.underFaults;
      return u
        ? `${calm}\n<tr><td>${esc(e.node)}</td><td>under ${esc(u.faults.join(', '))}</td>${cells(u)}</tr>`
        : calm;
    })
    .join('\n');
  return `<h2>Stress capacity</h2>
<div class="muted">constant arrival rate of GET <code>${esc(c.path)}</code> per edge, ${c.stepMs / 1000} s steps from ${c.startRate}/s (×2, then bisected), up to ${c.maxRate}/s; a step holds while p99 ≤ ${c.slo.p99Ms} ms (from each arrival's intended start) and errors ≤ ${c.slo.maxErrorRate * 100} %. Each edge is searched on the healed stack, then again while the faults the scenario holds on it are applied (and reverted after). Limited by <em>client</em>: the load generator, not the edge, could not keep up (over 1 % of arrivals dropped, or a p99 breach while the runner's own lag p99 was over half the bound).</div>
<table id="capacity"><thead><tr><th>Edge</th><th>faults</th><th class="num">capacity req/s</th><th>limited by</th><th>steps</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

function timelineTable(r: RunRecord): string {
  return `<details${r.timeline.length <= 40 ? ' open' : ''}><summary>${r.timeline.length} events, ${r.phases.length} phases</summary>
<table id="timeline"><thead><tr><th class="num">t</th><th>Event</th><th>Node</th><th>What</th></tr></thead><tbody>
${r.timeline
  .map(
    (e) =>
      `<tr><td class="num">${formatOffset(e.t)}</td><td>${esc(e.kind)}</td><td>${esc(e.node ?? '')}</td><td>${esc(e.text)}</td></tr>`,
  )
  .join('\n')}
</tbody></table></details>`;
}
