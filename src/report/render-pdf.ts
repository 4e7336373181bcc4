import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { TargetError, ToolMissingError } from '../core/errors.ts';

/** Debian's chromium by default; EDGECHAOS_CHROMIUM names another (GitHub's Ubuntu image: google-chrome). */
export const chromiumPath = process.env['EDGECHAOS_CHROMIUM'] ?? '/usr/bin/chromium';

const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** Debian's Chromium through playwright-core (never a downloaded browser); closes with `await using`. */
export async function launchChromium(executablePath = chromiumPath): Promise<Browser & AsyncDisposable> {
  if (!existsSync(executablePath))
    throw new ToolMissingError('chromium', 'apt-get install chromium', { file: executablePath });
  const browser = await chromium.launch({ executablePath, args: chromiumArgs, headless: true });
  return Object.assign(browser, {
    async [Symbol.asyncDispose]() {
      await browser.close();
    },
  });
}

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
  await page.emulateMedia({ media: 'print' });
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
