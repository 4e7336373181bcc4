import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface ChartAssets {
  /** uPlot's browser build (IIFE, defines `uPlot`). */
  js: string;
  css: string;
  version: string;
}

let cached: ChartAssets | undefined;

/** uPlot read from node_modules at generation time, to be inlined: the report needs no network. */
export function chartAssets(): ChartAssets {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('uplot'));
  const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as { version: string };
  cached = {
    js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8'),
    version: pkg.version,
  };
  return cached;
}
