/**
 * Report generation for a 5-minute campaign: a run record shaped like a real `standard` run (the passing
 * fixture) stretched to 300 s of load at 100 req/s over 3 edges (~90k sample lines), faults spread over
 * the timeline. Times `edgechaos report` without PDF (target < 5 s), then the PDF/PNG and the Allure HTML.
 *
 *   node --import tsx bench/report.ts
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord, SeriesPoint } from '../src/campaign/record.ts';
import { repoRoot } from '../src/core/paths.ts';
import { run } from '../src/core/proc.ts';
import { summarize } from '../src/load/summary.ts';
import type { Sample } from '../src/load/types.ts';
import { generateAllureHtml, readRunDir, renderPdfAndPng, writeReports } from '../src/report/index.ts';

const loadMs = 300_000;
const rate = 100;
const edges = ['edge-1', 'edge-2', 'edge-3'];

function synthesize(): { record: RunRecord; samples: string } {
  const base = JSON.parse(
    readFileSync(join(import.meta.dirname, '..', 'test', 'fixtures', 'runs', 'passing', 'run.json'), 'utf8'),
  ) as RunRecord;
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const partition = { start: 60_000, end: 180_000 };
  const lines: string[] = [
    JSON.stringify({ type: 'start', t: 0, epochMs: Date.parse(base.startedAt) + 3172 }),
  ];
  const samples: Sample[] = [];
  for (let i = 0; i < (loadMs / 1000) * rate; i++) {
    const t = (i * 1000) / rate + rnd() * 2;
    const node = edges[i % edges.length]!;
    const slow = node === 'edge-2' && t > 30_000 && t < 200_000;
    const duration = 2 + rnd() * 6 + (slow ? 150 + rnd() * 100 : 0) + (rnd() < 0.01 ? 80 : 0);
    const ok = !(node === 'edge-2' && t > 240_000 && t < 243_000);
    const write = i % 5 !== 0;
    const s: Sample = {
      type: 'http',
      t,
      scenario: write ? 'writes' : 'reads',
      method: write ? 'POST' : 'GET',
      name: write ? 'write' : 'status',
      node,
      status: ok ? (write ? 201 : 200) : 0,
      ok,
      duration,
      ...(ok ? {} : { error: 'connection refused' }),
    };
    samples.push(s);
    lines.push(JSON.stringify(s));
    if (write) {
      const w: Sample = {
        type: 'write',
        t,
        tDone: t + duration,
        id: `${base.runId}-${node}-${i}`,
        node,
        payloadBytes: 191,
        outcome: ok ? 'ok' : 'failed',
        status: s.status,
      };
      samples.push(w);
      lines.push(JSON.stringify(w));
    }
    const c: Sample = {
      type: 'check',
      t: t + duration,
      scenario: s.scenario,
      name: write ? 'write acknowledged' : 'status served',
      ok,
    };
    samples.push(c);
    lines.push(JSON.stringify(c));
  }
  lines.push(JSON.stringify({ type: 'end', t: loadMs, cpuSeconds: 21.4 }));
  const series = (f: (node: string, t: number, k: number) => number): Record<string, SeriesPoint[]> =>
    Object.fromEntries(
      edges.map((n) => [
        n,
        Array.from({ length: loadMs / 1000 }, (_, k) => ({
          t: 1005 + k * 1000,
          v: f(n, 1005 + k * 1000, k),
        })),
      ]),
    );
  const record: RunRecord = {
    ...base,
    runId: 'bench-5min',
    phases: [
      { name: 'deploy', start: -3172, end: -3002 },
      { name: 'warm-up', start: -3002, end: 0 },
      { name: 'load', start: 0, end: loadMs + 200 },
      { name: 'heal', start: loadMs + 200, end: loadMs + 1400 },
      { name: 'checks', start: loadMs + 1400, end: loadMs + 7500 },
      { name: 'teardown', start: loadMs + 7500, end: loadMs + 7800 },
    ],
    faults: [
      { id: 'f1', kind: 'partition', node: 'edge-1', params: { between: 'edge-cloud' }, ...partition },
      {
        id: 'f2',
        kind: 'latency',
        node: 'edge-2',
        params: { latency: '150ms' },
        start: 30_000,
        end: 200_000,
      },
      { id: 'f3', kind: 'cpu-stress', node: 'edge-3', params: { workers: 2 }, start: 90_000, end: 150_000 },
      {
        id: 'f4',
        kind: 'kill',
        node: 'edge-2',
        params: { restartAfter: '2s' },
        start: 240_000,
        end: 240_003,
      },
    ],
    series: {
      pending: series((n, t) =>
        n === 'edge-1' && t > partition.start && t < partition.end
          ? Math.round(((t - partition.start) / 1000) * 27)
          : 0,
      ),
      cpu: series(
        (n, t, k) => k * 0.03 + (n === 'edge-3' && t > 90_000 ? Math.min(t - 90_000, 60_000) / 1000 : 0),
      ),
      memory: series((n, _t, k) => 6e6 + k * 4000 + (n === 'edge-3' ? 9e6 : 0)),
    },
    load: { script: base.load.script, summary: summarize(samples), samplesFile: 'load/samples.jsonl' },
    endedAt: new Date(Date.parse(base.startedAt) + loadMs + 11_000).toISOString(),
  };
  return { record, samples: `${lines.join('\n')}\n` };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const dir = mkdtempSync(join(tmpdir(), 'edgechaos-bench-report-'));
try {
  const { record, samples } = synthesize();
  mkdirSync(join(dir, 'load'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify(record, null, 2));
  writeFileSync(join(dir, 'load', 'samples.jsonl'), samples);
  const lines = samples.split('\n').length - 1;
  console.log(
    `5-minute campaign: ${lines} sample lines (${(statSync(join(dir, 'load', 'samples.jsonl')).size / 1e6).toFixed(1)} MB), ` +
      `run.json ${(statSync(join(dir, 'run.json')).size / 1e3).toFixed(0)} kB, ${record.load.summary?.http.count} requests`,
  );
  const totals: number[] = [];
  let last: Record<string, number> = {};
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const rec = readRunDir(dir);
    const read = performance.now() - t;
    const w = await writeReports(dir, rec, { pdf: false });
    totals.push(performance.now() - t);
    last = { 'read run.json': Math.round(read), ...w.timings };
  }
  console.log(
    `report without PDF: median ${median(totals).toFixed(0)} ms of 5 (first ${totals[0]!.toFixed(0)} ms; target < 5000 ms)`,
  );
  console.log(
    `  last run: ${Object.entries(last)
      .map(([k, v]) => `${k} ${v} ms`)
      .join(', ')}`,
  );
  console.log(`  index.html ${(statSync(join(dir, 'index.html')).size / 1e3).toFixed(0)} kB`);
  const cli = performance.now();
  await run([process.execPath, join(repoRoot, 'bin', 'edgechaos.mjs'), 'report', dir, '--no-pdf'], {
    cwd: repoRoot,
  });
  console.log(
    `  \`edgechaos report --no-pdf\` end to end (new process): ${(performance.now() - cli).toFixed(0)} ms`,
  );
  const pdfTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await renderPdfAndPng(join(dir, 'index.html'), {
      pdf: join(dir, 'report.pdf'),
      png: join(dir, 'report.png'),
    });
    pdfTimes.push(performance.now() - t);
  }
  console.log(
    `PDF + PNG (Chromium launch included): median ${median(pdfTimes).toFixed(0)} ms of 3; ` +
      `report.pdf ${(statSync(join(dir, 'report.pdf')).size / 1e3).toFixed(0)} kB, report.png ${(statSync(join(dir, 'report.png')).size / 1e3).toFixed(0)} kB`,
  );
  const t = performance.now();
  await generateAllureHtml(dir, record);
  console.log(`Allure HTML (npm allure 3, single file): ${(performance.now() - t).toFixed(0)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
