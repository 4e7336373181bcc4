import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { TargetError, ToolMissingError } from '../core/errors.ts';

/** Debian's Chromium: the default when neither an option nor EDGECHAOS_CHROMIUM names a browser. */
export const chromiumPath = '/usr/bin/chromium';
/** Names looked up on PATH after the default (GitHub's Ubuntu runners have google-chrome). */
const chromiumNames = ['google-chrome', 'google-chrome-stable', 'chromium-browser', 'chromium'];

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

export function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface FindChromiumOptions {
  /** An explicit binary (option or --chromium): used as given, never replaced by a fallback. */
  executablePath?: string | undefined;
  /** Environment (default process.env): EDGECHAOS_CHROMIUM, then PATH. */
  env?: NodeJS.ProcessEnv;
  /** Test seam (default: a regular file with the execute bit). */
  isExecutable?: (file: string) => boolean;
}

/**
 * The Chromium to run: the explicit path, else `EDGECHAOS_CHROMIUM`, else /usr/bin/chromium, else the
 * first of google-chrome, google-chrome-stable, chromium-browser, chromium on PATH. An explicit path or
 * EDGECHAOS_CHROMIUM that is not executable is an error (no silent fallback); when nothing is found, the
 * error lists every place tried.
 */
export function findChromium(opts: FindChromiumOptions = {}): string {
  const env = opts.env ?? process.env;
  const ok = opts.isExecutable ?? isExecutable;
  const named = opts.executablePath ?? env['EDGECHAOS_CHROMIUM'];
  if (named !== undefined && named !== '') {
    if (ok(named)) return named;
    const from = opts.executablePath !== undefined ? 'the chromium path option' : 'EDGECHAOS_CHROMIUM';
    throw new ToolMissingError(
      'chromium',
      `${named} (from ${from}) is not an executable file; point it at Chromium or Google Chrome`,
      { file: named },
    );
  }
  const tried = [chromiumPath];
  if (ok(chromiumPath)) return chromiumPath;
  const dirs = (env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  for (const name of chromiumNames)
    for (const dir of dirs) {
      const file = join(dir, name);
      if (ok(file)) return file;
    }
  tried.push(`${chromiumNames.join(', ')} on PATH (${dirs.join(delimiter) || 'empty'})`);
  throw new ToolMissingError(
    'chromium',
    `tried ${tried.join(', then ')}; apt-get install chromium, or set EDGECHAOS_CHROMIUM to a Chromium/Chrome binary`,
    { file: chromiumPath },
  );
}

/** Chromium through playwright-core (never a downloaded browser; see findChromium); closes with `await using`. */
export async function launchChromium(executablePath?: string): Promise<Browser & AsyncDisposable> {
  const file = findChromium({ executablePath });
  const browser = await chromium.launch({ executablePath: file, args: chromiumArgs, headless: true });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  });
}

/** CSS pixels across an A4 landscape page with 8 mm margins at scale 0.8: (297 − 16) mm × 96/25.4 / 0.8. */
const pdfContentWidth = Math.floor((((297 - 16) / 25.4) * 96) / 0.8);

export interface RenderedFiles {
  pdf: string;
  png: string;
}

/**
 * Render a report page to PDF (A4 landscape) and a full-page PNG once its charts are drawn
 * (`body[data-charts]`, set by the report's script).
 */
export async function renderPdfAndPng(
  htmlFile: string,
  out: RenderedFiles,
  opts: { executablePath?: string; timeoutMs?: number } = {},
): Promise<RenderedFiles> {
  await using browser = await launchChromium(opts.executablePath);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  // A report is self-contained: refuse anything that is not the file itself or inline data.
  await page.route(/^(?!file:|data:|blob:|about:)/, (route) => route.abort());
  await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load', timeout: opts.timeoutMs ?? 30_000 });
  try {
    await page.waitForSelector('body[data-charts]', { timeout: opts.timeoutMs ?? 30_000 });
  } catch (err) {
    throw new TargetError(`the report's charts did not render in Chromium: ${(err as Error).message}`, {
      file: htmlFile,
      cause: err,
    });
  }
  await page.screenshot({ path: out.png, fullPage: true });
  // Lay the page out as printed (print CSS, the PDF's content width) and let the charts redraw to it
  // before printing: otherwise they keep their screen width in a wider, two-column print layout.
  await page.emulateMedia({ media: 'print' });
  await page.setViewportSize({ width: pdfContentWidth, height: 900 });
  await page.evaluate(
    () =>
      new Promise<void>((done) => {
        window.dispatchEvent(new Event('resize'));
        requestAnimationFrame(() => requestAnimationFrame(() => done()));
      }),
  );
  await page.pdf({
    path: out.pdf,
    format: 'A4',
    landscape: true,
    printBackground: true,
    scale: 0.8,
    margin: { top: '8mm', bottom: '8mm', left: '8mm', right: '8mm' },
  });
  return out;
}
