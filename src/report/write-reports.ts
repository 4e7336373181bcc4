import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunRecord } from '../campaign/record.ts';
import type { Sample } from '../load/types.ts';
import { generateAllureHtml, writeAllureResults } from './allure.ts';
import { chartAssets } from './assets.ts';
import { buildChartData } from './chart-data.ts';
import { listEvidenceFiles } from './evidence-files.ts';
import { renderHtmlReport } from './html-report.ts';
import { renderJUnit } from './junit.ts';
import { renderPdfAndPng } from './render-pdf.ts';
import { readRunSamples } from './run-dir.ts';

export interface WriteReportsOptions {
  /** Allure results (default true). */
  allure?: boolean;
  /** Also generate the Allure HTML with the npm `allure` package (default false; takes a few seconds). */
  allureHtml?: boolean;
  /** PDF and PNG of the HTML report via Chromium (default true). */
  pdf?: boolean;
  /** Load samples; default: read `record.load.samplesFile` from the run dir when it exists. */
  samples?: readonly Sample[];
  /** Generation time stamped into the HTML (default now). */
  now?: Date;
  /** Chromium binary (default: EDGECHAOS_CHROMIUM, /usr/bin/chromium, then google-chrome/chromium-browser on PATH). */
  chromiumPath?: string;
  signal?: AbortSignal;
}

export interface WrittenReports {
  html: string;
  junit: string;
  allureResults?: string;
  allureReport?: string;
  pdf?: string;
  png?: string;
  /** Milliseconds per step: samples, html, junit, allure, allureHtml, pdf. */
  timings: Record<string, number>;
}

/**
 * Write every report of a run into its directory: index.html, junit.xml, allure-results/ and (unless
 * disabled) report.pdf + report.png; allure-report/ on request. Uses nothing but the record and the run's
 * load samples, so `edgechaos report <run-dir>` regenerates the same files. The PDF comes last: when
 * Chromium is missing, the other files are already written and the ToolMissingError says how to get it.
 */
/** Files a report run writes itself: not evidence of the run. */
const reportOutputs =
  /^(junit\.xml|index\.html|report\.(pdf|png)|allure-results|allure-report\/index\.html)$/;

export async function writeReports(
  runDir: string,
  record: RunRecord,
  opts: WriteReportsOptions = {},
): Promise<WrittenReports> {
  const dir = resolve(runDir);
  const timings: Record<string, number> = {};
  const time = <T>(name: string, f: () => T): T => {
    const t = performance.now();
    try {
      return f();
    } finally {
      timings[name] = Math.round((performance.now() - t) * 10) / 10;
    }
  };
  const samples = opts.samples ?? time('samples', () => readRunSamples(dir, record));
  const out: WrittenReports = { html: join(dir, 'index.html'), junit: join(dir, 'junit.xml'), timings };
  // JUnit and Allure first, so the HTML can link to everything that exists (the PDF is rendered from it).
  const planned = {
    pdf: opts.pdf !== false,
    allureResults: opts.allure !== false,
    allureHtml: opts.allureHtml === true,
  };
  time('junit', () =>
    writeFileSync(
      out.junit,
      renderJUnit(
        record,
        // the run's own evidence only, not what this report run writes (the same JUnit whatever the options)
        listEvidenceFiles(dir, planned).filter((f) => !reportOutputs.test(f.href)),
      ),
    ),
  );
  if (opts.allure !== false)
    out.allureResults = time('allure', () => writeAllureResults(dir, record, { samples }));
  time('html', () => {
    const html = renderHtmlReport({
      record,
      charts: buildChartData(record, samples),
      assets: chartAssets(),
      generatedAt: (opts.now ?? new Date()).toISOString(),
      evidenceFiles: listEvidenceFiles(dir, planned),
    });
    writeFileSync(out.html, html);
  });
  if (opts.allureHtml) {
    const t = performance.now();
    out.allureReport = await generateAllureHtml(dir, record, opts.signal);
    timings['allureHtml'] = Math.round(performance.now() - t);
  }
  if (opts.pdf !== false) {
    const t = performance.now();
    const r = await renderPdfAndPng(
      out.html,
      { pdf: join(dir, 'report.pdf'), png: join(dir, 'report.png') },
      opts.chromiumPath ? { executablePath: opts.chromiumPath } : {},
    );
    timings['pdf'] = Math.round(performance.now() - t);
    out.pdf = r.pdf;
    out.png = r.png;
  }
  return out;
}
