import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScenarioError } from '../../src/core/errors.ts';
import type { RunRecord } from '../../src/campaign/record.ts';
import type { Sample } from '../../src/load/types.ts';
import {
  buildChartData,
  chartAssets,
  compareRuns,
  executorInfo,
  formatPoints,
  readRunDir,
  renderComparisonHtml,
  renderComparisonText,
  renderHtmlReport,
  renderJUnit,
  writeAllureResults,
} from '../../src/report/index.ts';
import { stripAnalytics } from '../../src/report/allure.ts';
import { assignLanes } from '../../src/report/chart-data.ts';
import { listEvidenceFiles } from '../../src/report/evidence-files.ts';
import { formatMetric } from '../../src/report/format.ts';
import { humanize } from '../../src/report/labels.ts';
import { provenanceFixture } from '../helpers/provenance.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'runs');
const passing = (): RunRecord => readRunDir(join(fixtures, 'passing'));
const failing = (): RunRecord => readRunDir(join(fixtures, 'failing'));

function withTmp<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-report-unit-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Minimal XML sanity: every opened element is closed in order. */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `closing </${name}>`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, []);
}

describe('report: run.json validation', () => {
  it('should accept both fixture runs', () => {
    assert.equal(passing().gatesPassed, true);
    assert.equal(failing().gatesPassed, false);
  });

  it('should accept the newer fields: not-provided statuses, gate status, provenance, interrupted', () => {
    withTmp((dir) => {
      const rec = JSON.parse(readFileSync(join(fixtures, 'passing', 'run.json'), 'utf8')) as RunRecord;
      Object.assign(rec.checks[0]!, {
        status: 'failed',
        notProvided: { reason: 'no images in the manifest', metrics: ['image.max.bytes'] },
      });
      Object.assign(rec.score.criteria[0]!, { status: 'not-provided', points: 0 });
      Object.assign(rec.score.criteria[0]!.gates[0]!, { status: 'not-measured' });
      Object.assign(rec, { provenance: provenanceFixture, interrupted: false });
      writeFileSync(join(dir, 'run.json'), JSON.stringify(rec));
      const back = readRunDir(dir) as RunRecord & { provenance?: unknown };
      assert.deepEqual(back.provenance, provenanceFixture);
    });
  });

  it('should name the file when run.json is missing', () => {
    withTmp((dir) => {
      assert.throws(
        () => readRunDir(dir),
        (e: unknown) => e instanceof ScenarioError && e.file === join(dir, 'run.json') && e.exitCode === 2,
      );
    });
  });

  it('should name the file when run.json is not JSON', () => {
    withTmp((dir) => {
      writeFileSync(join(dir, 'run.json'), '{"schema": "edgechaos.run/v1", "runId": ');
      assert.throws(() => readRunDir(dir), /run\.json is not valid JSON/);
    });
  });

  it('should name the field when the record has the wrong shape', () => {
    withTmp((dir) => {
      const rec = JSON.parse(readFileSync(join(fixtures, 'passing', 'run.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      (rec['checks'] as Record<string, unknown>[])[2]!['status'] = 'maybe';
      writeFileSync(join(dir, 'run.json'), JSON.stringify(rec));
      assert.throws(
        () => readRunDir(dir),
        (e: unknown) =>
          e instanceof ScenarioError &&
          e.field === 'checks[2].status' &&
          /invalid run record/.test(e.message),
      );
    });
  });
});

describe('report: JUnit', () => {
  it('should make checks test cases with failures, skips and failed gates from the failing run', () => {
    const r = failing();
    const xml = renderJUnit(r);
    assertWellFormed(xml);
    const cases = [...xml.matchAll(/<testcase /g)].length;
    const gates = r.score.criteria.reduce((a, c) => a + c.gates.length, 0);
    assert.equal(cases, r.checks.length + r.score.criteria.length + gates);
    assert.match(
      xml,
      /name="resumed-sync: [^"]*" time="0.000">\s*<failure message="3560 acknowledged writes: 17 lost/,
    );
    // The lost record ids are in the failure body, for whoever reads the CI log.
    assert.match(xml, /lost \(17\): ec11252310470-edge-1-615, ec11252310470-edge-1-618/);
    assert.match(xml, /<failure message="gate failed: sync\.lost == 0 \(measured 17\)/);
    assert.match(
      xml,
      /name="conformance: [^"]*" time="0.000">\s*<skipped message="not measured: disabled in the scenario"/,
    );
    assert.match(xml, /name="criterion scheduling-latency: [^"]*" time="0.000">\s*<skipped/);
    const top = xml.match(/<testsuites [^>]*failures="(\d+)"/);
    const skipped = [...xml.matchAll(/<testsuite [^>]*skipped="(\d+)"/g)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    // 2 failed checks + 2 failed gates; 1 check and 3 criteria not measured (conformance counts in both).
    assert.deepEqual([top?.[1], skipped], ['4', 5]);
    // The common JUnit schema has no `skipped` on <testsuites> (validated with xmllint in report-junit-xsd).
    assert.doesNotMatch(xml, /<testsuites [^>]*skipped=/);
    assert.match(xml, /fatal error: concurrent map writes/);
  });

  it("should give each check case the check's own duration", () => {
    const r = passing();
    r.checks[0] = { ...r.checks[0]!, durationMs: 1534 };
    const xml = renderJUnit(r);
    assert.match(xml, new RegExp(`name="${r.checks[0].id}: [^"]*" time="1.534"`));
  });

  it('should make a gate on a metric that was not measured a skipped case, never a pass', () => {
    const r = passing();
    const c = r.score.criteria.find((x) => x.points === undefined)!;
    // What the scorer records for a gate whose metric no check measured: passed, nothing measured.
    c.gates.push({
      gate: { metric: 'sched.p99-ms', op: '<=', value: 50, because: 'latency' },
      measured: undefined,
      passed: true,
    } as (typeof c.gates)[number]); // a record written before gates had a status
    const xml = renderJUnit(r);
    assert.match(
      xml,
      new RegExp(
        `name="gate ${c.id}: sched\\.p99-ms &lt;= 50" time="0.000">\\s*<skipped message="not measured`,
      ),
    );
    // A status the record states wins: failed stays failed.
    const g = r.score.criteria.find((x) => x.gates.length > 0 && x.points !== undefined)!;
    Object.assign(g.gates[0]!, { status: 'failed', passed: false });
    assert.match(renderJUnit(r), /<failure message="gate failed: image\.max\.bytes/);
  });

  it('should put the provenance into the suite properties when the record has it', () => {
    const r = Object.assign(passing(), { provenance: provenanceFixture });
    const xml = renderJUnit(r);
    assert.match(xml, /<property name="provenance\.gitCommit" value="0123abc"\/>/);
    assert.match(xml, /<property name="provenance\.stack\.image\.edge-agent\.tar" value="sha256:feed"\/>/);
    assert.match(xml, /<property name="provenance\.label" value="team &lt;blue&gt;"\/>/);
    assert.doesNotMatch(renderJUnit(passing()), /provenance\./);
  });

  it('should make a not-provided check and criterion failures that say they score zero', () => {
    const r = passing();
    Object.assign(r.checks[0]!, { status: 'not-provided', summary: 'the manifest lists no images' });
    const c = r.score.criteria[0]!;
    Object.assign(c, { status: 'not-provided', points: 0, reason: 'no images in the stack manifest' });
    const xml = renderJUnit(r);
    assert.match(
      xml,
      /<failure message="not provided \(scores zero\): the manifest lists no images" type="not-provided"/,
    );
    assert.match(
      xml,
      new RegExp(`<failure message="not provided, scores 0 / ${c.weight}: no images in the stack manifest"`),
    );
  });

  it('should have no failures for the passing run', () => {
    const xml = renderJUnit(passing());
    assertWellFormed(xml);
    assert.doesNotMatch(xml, /<failure/);
    assert.match(xml, /<property name="seed" value="20261125"\/>/);
  });
});

describe('report: HTML', () => {
  const render = (r: RunRecord, samples?: Sample[]): string =>
    renderHtmlReport({
      record: r,
      charts: buildChartData(r, samples),
      assets: chartAssets(),
      generatedAt: '2026-11-26T00:00:00.000Z',
    });

  it('should show every criterion with its points, weight and a link to its evidence', () => {
    const r = passing();
    const html = render(r);
    for (const c of r.score.criteria) {
      const row = html.match(new RegExp(`<tr id="criterion-${c.id}"[\\s\\S]*?</tr>`))?.[0];
      assert.ok(row, c.id);
      assert.match(row, new RegExp(`data-points="${c.points ?? ''}">`));
      if (c.points !== undefined) assert.ok(row.includes(`>${formatPoints(c.points)}<`), `${c.id} points`);
      else assert.match(row, /not measured/);
    }
    assert.match(html, /<a href="#check-resumed-sync">resumed-sync<\/a>/);
    assert.match(html, /<section class="card check" id="check-resumed-sync">/);
    assert.match(html, /id="score-total">62\.8 /);
    assert.match(html, />PASS</);
  });

  it('should be self-contained: uPlot inlined, no external script, style or link', () => {
    const html = render(passing());
    assert.ok(html.includes(chartAssets().js.slice(0, 200)));
    assert.doesNotMatch(html, /<script[^>]+src=/);
    assert.doesNotMatch(html, /<link[^>]+href=/);
    // Nothing to fetch: the only URL is the one in uPlot's licence comment.
    assert.doesNotMatch(html.replace(chartAssets().js, ''), /https?:\/\//);
  });

  it('should list failed gates, the lost ids and the crashed agent log for the failing run', () => {
    const html = render(failing());
    assert.match(html, />FAIL</);
    assert.match(html, /2 rubric gate\(s\) and 2 check\(s\) failed/);
    assert.match(html, /ec11252310470-edge-1-1656/);
    assert.match(html, /fatal error: concurrent map writes/);
    assert.match(html, /<span class="badge not-measured">not-measured<\/span>/);
  });

  it('should not let evidence text close the script or inject markup', () => {
    const r = failing();
    r.checks[0]!.evidence['note'] = '</script><img src=x onerror=alert(1)>';
    r.checks[0]!.summary = '<b>bold</b>';
    const html = render(r);
    assert.doesNotMatch(html, /<img src=x/);
    assert.match(html, /&lt;b&gt;bold&lt;\/b&gt;/);
  });
});

describe('report: HTML shows what scores and what does not', () => {
  const render = (r: RunRecord, evidenceFiles?: { label: string; href: string; bytes?: number }[]): string =>
    renderHtmlReport({
      record: r,
      charts: buildChartData(r),
      assets: chartAssets(),
      generatedAt: '2026-11-26T00:00:00.000Z',
      ...(evidenceFiles ? { evidenceFiles } : {}),
    });
  const row = (html: string, id: string): string =>
    html.match(new RegExp(`<tr id="criterion-${id}"[\\s\\S]*?</tr>`))?.[0] ?? '';

  it('should show a gate on a metric that was not measured as "not measured", never a green ✓', () => {
    const r = passing();
    const c = r.score.criteria.find((x) => x.id === 'scheduling-latency')!;
    c.gates.push({
      gate: { metric: 'scheduling.p99-ms', op: '<=', value: 50, because: 'latency' },
      measured: undefined,
      passed: true,
    } as (typeof c.gates)[number]); // a record written before gates had a status
    const tr = row(render(r), c.id);
    assert.match(
      tr,
      /data-gate-status="not-measured"[^>]*><span class="badge not-measured">not measured<\/span>/,
    );
    assert.doesNotMatch(tr, /✓/);
    // Gates that were measured keep their ✓.
    assert.match(row(render(r), 'image-size'), /data-gate-status="passed"[^>]*><span class="badge pass">✓/);
  });

  it('should show failed gates and the criteria they zeroed first, before the score table', () => {
    const r = failing();
    const off = r.score.criteria.find((x) => x.id === 'offline-stability')!;
    off.points = 0; // what a scorer that zeroes a criterion on a failed gate records
    const html = render(r);
    const box = html.match(
      /<div class="gates" id="failed-gates">[\s\S]*?<\/div><\/li>[\s\S]*?<\/ul><\/div>/,
    )?.[0];
    assert.ok(box);
    assert.ok(html.indexOf('id="failed-gates"') < html.indexOf('id="score-table"'));
    assert.ok(html.indexOf('id="failed-gates"') < html.indexOf('<h2>'));
    assert.match(
      box,
      /gate <code>sync\.lost == 0<\/code> failed \(measured 17\) — <span class="zeroed">zeroed <a href="#criterion-offline-stability">Stability while offline<\/a>: 0 \/ 15 points/,
    );
    // The gates come before the failed checks in the box.
    assert.ok(box.indexOf('sync.lost == 0') < box.indexOf('href="#check-resumed-sync"'));
    assert.match(row(html, 'offline-stability'), /zeroed by the failed gate <code>sync\.lost == 0<\/code>/);
    // A gate that failed without zeroing says what the criterion kept.
    const kept = render(failing()).match(/<li data-gate="offline-stability">[\s\S]*?<\/li>/)?.[0] ?? '';
    assert.match(kept, /Stability while offline<\/a>: 11\.4 \/ 15 points/);
  });

  it('should show a criterion the submission did not provide as zero, with the reason', () => {
    const r = passing();
    const c = r.score.criteria.find((x) => x.id === 'image-size')!;
    Object.assign(c, { status: 'not-provided', points: 0, reason: 'the stack manifest lists no images' });
    const html = render(r);
    const tr = row(html, 'image-size');
    assert.match(tr, /data-points="0">0\.0<div><span class="badge not-provided">not provided<\/span>/);
    assert.match(tr, /not provided: the stack manifest lists no images/);
    assert.match(
      html,
      /<li data-not-provided="image-size"><a href="#criterion-image-size">Image size \(compressed\)<\/a>: not provided, <span class="zeroed">0 \/ 10 points<\/span> — the stack manifest lists no images/,
    );
  });

  it('should label fields for people, keeping the raw key beside the label', () => {
    const html = render(failing());
    assert.match(
      html,
      /data-key="failedButPresent" title="failedButPresent">Writes reported as failed but present in the ledger</,
    );
    assert.match(html, /data-key="ledgerRows" title="ledgerRows">Rows in the cloud ledger</);
    assert.doesNotMatch(html, /<code>(failedButPresent|ledgerRows|indeterminateFound)<\/code>/);
    assert.match(html, /Lost writes<code class="key">sync\.lost<\/code>/);
    assert.equal(humanize('failedButPresent'), 'Failed but present');
    assert.equal(humanize('edge-cpu_seconds'), 'Edge cpu seconds');
  });

  it('should show the provenance when the record has it, and say when it does not', () => {
    const html = render(Object.assign(passing(), { provenance: provenanceFixture }));
    const block = html.match(/<div class="prov" id="provenance">[\s\S]*?<\/div><\/div>(?=<)/)?.[0] ?? html;
    for (const want of [
      /<div>edgechaos commit<\/div><div data-key="gitCommit"><code>0123abc<\/code>/,
      /<div>Image edge-agent\.tar<\/div><div data-key="stack\.image\.edge-agent\.tar"><code>sha256:feed<\/code>/,
      /<div>Host CPU<\/div><div data-key="host\.cpu">AMD EPYC/,
      /<div>Rubric SHA-256<\/div><div data-key="rubric\.sha256"><code>a{64}<\/code>/,
      /<div>Competitor<\/div><div data-key="label">team &lt;blue&gt;/,
    ])
      assert.match(block, want);
    assert.match(html, /<strong id="label">team &lt;blue&gt;<\/strong>/);
    assert.match(render(passing()), /has no provenance \(written by an older edgechaos\)/);
  });

  it('should link the raw evidence files of the run directory', () => {
    withTmp((dir) => {
      for (const d of ['logs', 'load', 'cold-0-x', 'images', 'kube/logs'])
        mkdirSync(join(dir, d), { recursive: true });
      const files: Record<string, string> = {
        'run.json': '{}',
        'logs/edge-1.log': 'a',
        'logs/toxiproxy.log': 'b',
        'load/samples.jsonl': 'x'.repeat(3 * 1024 * 1024),
        'ledger.jsonl': '{}\n',
        'kube/logs/apiserver.log': 'c',
        'cold-0-x/agent.log': 'not evidence: a cold-start data dir',
        'images/edge-agent.tar': 'not linked',
        'index.html': 'the report itself',
      };
      for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
      const list = listEvidenceFiles(dir, { pdf: true, allureResults: true });
      assert.deepEqual(
        list.map((f) => [f.href, f.label]),
        [
          ['run.json', 'Run record'],
          ['logs/edge-1.log', 'edge-1 log'],
          ['logs/toxiproxy.log', 'toxiproxy log'],
          ['load/samples.jsonl', 'Load samples'],
          ['ledger.jsonl', 'Cloud ledger dump (ledger.jsonl)'],
          ['allure-results', 'Allure results'],
          ['kube/logs/apiserver.log', 'kube logs apiserver log'],
          ['report.pdf', 'PDF report'],
          ['report.png', 'Report screenshot'],
        ],
      );
      const html = render(passing(), list);
      assert.match(
        html,
        /<li><a href="logs\/edge-1\.log">edge-1 log<\/a> <span class="muted mono">logs\/edge-1\.log · 1 B<\/span>/,
      );
      assert.match(
        html,
        /<a href="load\/samples\.jsonl">Load samples<\/a> <span class="muted mono">load\/samples\.jsonl · 3\.15 MB/,
      );
      assert.match(html, /<a href="report\.pdf">PDF report<\/a>/);
    });
  });
});

describe('report: how each node ran', () => {
  it("should show each node's runtime and why a board fell back to the process (ssh without runc)", () => {
    const r = Object.assign(passing(), {
      evidence: {
        runtimes: {
          'edge-1': { runtime: 'oci', reason: 'runc on the board runs the edge image' },
          'edge-2': {
            runtime: 'process',
            reason: 'no OCI runtime (runc) on the board: fell back to the process',
          },
        },
      },
    }) as RunRecord;
    const html = renderHtmlReport({
      record: r,
      charts: buildChartData(r),
      assets: chartAssets(),
      generatedAt: 'now',
    });
    assert.match(
      html,
      /id="runtimes"><span>runtime<\/span> edge-1 container; edge-2 process \(no OCI runtime \(runc\) on the board: fell back to the process\)/,
    );
    assert.doesNotMatch(
      renderHtmlReport({
        record: passing(),
        charts: buildChartData(passing()),
        assets: chartAssets(),
        generatedAt: 'now',
      }),
      /id="runtimes"/,
    );
  });
});

describe('report: an interrupted run', () => {
  it('should say so at the top of the HTML and as a JUnit error', () => {
    const r = Object.assign(passing(), { interrupted: true });
    const html = renderHtmlReport({
      record: r,
      charts: buildChartData(r),
      assets: chartAssets(),
      generatedAt: 'now',
    });
    assert.ok(html.indexOf('id="interrupted"') < html.indexOf('id="score-table"'));
    assert.match(html, /id="verdict">INTERRUPTED</);
    assert.match(
      html,
      /The run was interrupted:<\/strong> it is not a complete measurement and scores nothing/,
    );
    assert.match(
      renderJUnit(r),
      /<error message="the run was interrupted: it scores nothing" type="interrupted">/,
    );
    assert.doesNotMatch(renderJUnit(passing()), /interrupted/);
  });
});

describe('report: sizes in decimal units, as the track states its limits', () => {
  it('should format bytes as kB/MB/GB everywhere', () => {
    assert.equal(formatMetric('image.max.bytes', { value: 3041106, unit: 'B' }), '3.04 MB');
    assert.equal(formatMetric('sync.bytes-per-record', { value: 427, unit: 'B' }), '427 B');
    assert.equal(formatMetric('x.bytes', { value: 2048, unit: 'B' }), '2.05 kB');
    assert.equal(formatMetric('x', { value: 7.7, unit: 'MB' }), '7.70 MB');
    assert.equal(formatMetric('x', { value: 1.5, unit: 'GiB' }), '1.61 GB');
    const html = renderHtmlReport({
      record: passing(),
      charts: buildChartData(passing()),
      assets: chartAssets(),
      generatedAt: 'now',
    });
    assert.match(html, /data-metric="image\.max\.bytes" data-value="3041106">3\.04 MB</);
    // Evidence sizes too: uplink bytes per edge as a table in kB.
    assert.match(html, /<tr><td>edge-1<\/td><td>389\.74 kB<\/td><\/tr>/);
  });

  it('should print byte deltas of a comparison in the same units', () => {
    const a = { label: 'a', dir: 'a', record: passing() };
    const bRec = passing();
    bRec.metrics['image.max.bytes'] = { ...bRec.metrics['image.max.bytes']!, value: 3041106 + 2 * 1048576 };
    const cmp = compareRuns([a, { label: 'b', dir: 'b', record: bRec }]);
    assert.match(renderComparisonText(cmp), /image\.max\.bytes\s+3\.04 MB\s+5\.14 MB \(\+2\.10 MB/);
  });
});

describe('report: chart data', () => {
  it('should chart load, backlog, CPU, memory and convergence from the record alone', () => {
    const d = buildChartData(passing());
    assert.deepEqual(
      d.charts.map((c) => c.id),
      ['requests', 'errors', 'latency', 'pending', 'cpu', 'memory', 'convergence'],
    );
    for (const c of d.charts) {
      assert.ok(c.x.length > 0, c.id);
      for (const l of c.lines) assert.equal(l.values.length, c.x.length, `${c.id}/${l.label}`);
    }
    assert.deepEqual(
      d.faults.map((f) => [f.id, f.node, f.start, f.end, f.lane]),
      [
        ['f2', 'edge-2', 5, 45, 1],
        ['f3', 'edge-2', 5, 45, 2],
        ['f1', 'edge-1', 10, 40, 0],
        ['f4', 'edge-3', 15, 40.1, 3],
        ['f5', 'edge-2', 48, 48, 1],
      ],
    );
    // edge-1 one row, edge-2 two (f2 and f3 overlap; f5 comes after both), edge-3 one.
    assert.equal(d.lanes, 4);
    // Cumulative CPU seconds become cores: edge-3 under cpu-stress uses about one core.
    const cpu = d.charts.find((c) => c.id === 'cpu')!;
    const edge3 = cpu.lines.find((l) => l.node === 'edge-3')!.values.filter((v): v is number => v !== null);
    assert.ok(Math.max(...edge3) > 0.8 && Math.max(...edge3) < 1.3, String(Math.max(...edge3)));
  });

  it('should give overlapping faults their own rows, and reuse a row once a fault has ended', () => {
    const f = (id: string, node: string, start: number, end: number) => ({ id, kind: 'k', node, start, end });
    const { faults, lanes } = assignLanes(
      ['edge-1', 'edge-2'],
      [
        f('a', 'edge-1', 0, 10),
        f('b', 'edge-1', 5, 15),
        f('c', 'edge-1', 10, 20),
        f('d', 'edge-1', 6, 7),
        f('e', 'edge-2', 0, 1),
      ],
    );
    assert.deepEqual(Object.fromEntries(faults.map((x) => [x.id, x.lane])), { a: 0, b: 1, d: 2, c: 0, e: 3 });
    assert.equal(lanes, 4);
    // No two faults in one row overlap.
    for (const x of faults)
      for (const y of faults)
        if (x !== y && x.lane === y.lane) assert.ok(x.end <= y.start || y.end <= x.start, `${x.id}/${y.id}`);
  });

  it('should break load down per edge when samples are given', () => {
    const samples: Sample[] = [];
    for (let t = 0; t < 3000; t += 10)
      samples.push({
        type: 'http',
        t,
        scenario: 's',
        method: 'GET',
        name: 'status',
        node: t % 20 ? 'edge-1' : 'edge-2',
        status: t > 2000 && t % 20 ? 503 : 200,
        ok: !(t > 2000 && t % 20),
        duration: 5,
      });
    const d = buildChartData(passing(), samples);
    const errors = d.charts.find((c) => c.id === 'errors')!;
    assert.deepEqual(errors.x, [0, 1, 2]);
    assert.deepEqual(
      errors.lines.map((l) => [l.label, l.values]),
      [
        ['edge-1', [0, 0, 100]],
        ['edge-2', [0, 0, 0]],
      ],
    );
  });
});

describe('report: Allure results', () => {
  it('should write one result per check plus the score, with steps, parameters and attachments', () => {
    withTmp((dir) => {
      const r = failing();
      writeAllureResults(dir, r, {
        env: { GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '9' },
      });
      const out = join(dir, 'allure-results');
      const files = readdirSync(out);
      const results = files
        .filter((f) => f.endsWith('-result.json'))
        .map(
          (f) =>
            JSON.parse(readFileSync(join(out, f), 'utf8')) as {
              name: string;
              status: string;
              start: number;
              stop: number;
              parameters: { name: string; value: string }[];
              steps: { name: string; start: number; stop: number; steps: { name: string }[] }[];
              attachments: { name: string; source: string }[];
            },
        );
      assert.equal(results.length, r.checks.length + 1);
      const sync = results.find((x) => x.name.startsWith('Resumed sync'))!;
      assert.equal(sync.status, 'failed');
      assert.equal(results.find((x) => x.name.startsWith('Functional completeness'))?.status, 'skipped');
      assert.equal(results.find((x) => x.name.startsWith('Score:'))?.status, 'failed');
      assert.deepEqual(
        sync.parameters.map((p) => p.name),
        ['scenario', 'seed', 'target', 'stack', 'rubric'],
      );
      const load = sync.steps.find((s) => s.name === 'phase: load')!;
      assert.equal(load.stop - load.start, 60245);
      assert.ok(load.steps.some((s) => s.name === 'fault f1: partition on edge-1'));
      assert.ok(load.steps.some((s) => s.name.startsWith('process-exit: edge-agent exited')));
      const lost = sync.attachments.find((a) => a.name === 'resumed-sync: lost (17)')!;
      assert.match(readFileSync(join(out, lost.source), 'utf8'), /^ec11252310470-edge-1-615\n/);
      const offline = results.find((x) => x.name.startsWith('Offline operation'))!;
      const log = offline.attachments.find((a) => a.name === 'offline: logExcerpt')!;
      assert.match(readFileSync(join(out, log.source), 'utf8'), /concurrent map writes/);
      assert.ok(files.includes('environment.properties'));
      assert.ok(files.includes('categories.json'));
      const exec = JSON.parse(readFileSync(join(out, 'executor.json'), 'utf8')) as { buildUrl: string };
      assert.equal(exec.buildUrl, 'https://github.com/o/r/actions/runs/9');
    });
  });

  it('should add the provenance as parameters (kept out of the history key) and to the environment', () => {
    withTmp((dir) => {
      const r = Object.assign(passing(), { provenance: provenanceFixture });
      Object.assign(r.score.criteria[0]!.gates[0]!, { status: 'not-measured' });
      const out = writeAllureResults(dir, r, { env: {} });
      const results = readdirSync(out)
        .filter((f) => f.endsWith('-result.json'))
        .map(
          (f) =>
            JSON.parse(readFileSync(join(out, f), 'utf8')) as {
              name: string;
              parameters: { name: string; value: string; excluded?: boolean }[];
            },
        );
      const sync = results.find((x) => x.name.startsWith('Resumed sync'))!;
      assert.deepEqual(
        sync.parameters.find((p) => p.name === 'edgechaos commit'),
        { name: 'edgechaos commit', value: '0123abc', excluded: true },
      );
      assert.ok(sync.parameters.some((p) => p.name === 'Image edge-agent.tar' && p.value === 'sha256:feed'));
      const env = readFileSync(join(out, 'environment.properties'), 'utf8');
      assert.match(env, /provenance\.gitCommit\s*=\s*0123abc/);
      assert.match(env, /provenance\.host\.cpu\s*=\s*AMD EPYC/);
    });
  });

  it('should describe a local executor outside CI', () => {
    assert.equal(executorInfo({}, passing()).type, 'local');
  });

  it('should strip the analytics tag from a generated Allure page', () => {
    const page = `<body><div id="app"></div>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>
    <script>
        window.dataLayer = window.dataLayer || [];
        function gtag(){dataLayer.push(arguments);}
        gtag('config', 'G-X', {});
    </script>
    <script>window.allureReportData = 1;</script></body>`;
    const out = stripAnalytics(page);
    assert.doesNotMatch(out, /googletagmanager|gtag/);
    assert.match(out, /window\.allureReportData = 1/);
  });
});

describe('report: compare', () => {
  it('should put runs side by side with deltas against the first', () => {
    const a = { label: 'passing', dir: join(fixtures, 'passing'), record: passing() };
    const b = { label: 'failing', dir: join(fixtures, 'failing'), record: failing() };
    const cmp = compareRuns([a, b]);
    const total = cmp.rows.find((r) => r.key === 'score.total')!;
    assert.deepEqual(
      total.cells.map((c) => c.value),
      [62.77, 43.62],
    );
    assert.ok(Math.abs(total.deltas[1]! - -19.15) < 1e-9);
    const lost = cmp.rows.find((r) => r.key === 'sync.lost')!;
    assert.deepEqual(lost.deltas, [undefined, 17]);
    const text = renderComparisonText(cmp);
    assert.match(text, /sync\.lost\s+0 writes\s+17 writes \(\+17 ▼\)/);
    assert.match(text, /Points\s+62\.8 \/ 70\s+43\.6 \/ 55 \(−19\.2 ▼\)/);
    const html = renderComparisonHtml([a, b], chartAssets(), { pageDir: fixtures, generatedAt: 'now' });
    assert.match(html, /<div class="delta-worse">\+17 ▼<\/div>/);
    assert.match(html, /id="chart-criteria"/);
  });

  it('should write nothing into the fixtures', () => {
    const dirs = ['passing', 'failing'].map((d) => readdirSync(join(fixtures, d)).sort());
    assert.deepEqual(dirs, [['run.json'], ['run.json']]);
  });
});
