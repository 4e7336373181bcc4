/**
 * Load scripts and the load runner as plain JavaScript for a Node without tsx or node_modules: the
 * load runner image (`--load-replicas` on a cluster) runs `node /app/runner.mjs`, and each run's
 * script reaches its pods as one .mjs in a ConfigMap.
 *
 * - The runner is bundled with esbuild (the JS API) together with the k6 modules as entry points
 *   and code splitting: /app/runner.mjs, /app/k6/{index,http,metrics,execution}.mjs and their
 *   shared chunks, so undici and the runtime exist once in the image.
 * - A script is bundled alone, its imports of src/load/k6/*.ts rewritten to the image's
 *   /app/k6/*.mjs (external): only the script's own code travels (a few KiB), however big the HTTP
 *   client is. (The runtime is shared through a global symbol anyway, see runtime.ts.)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { UsageError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';

/** The k6 modules a script may import, by base name: where they are in the repo and in the image. */
export const K6_MODULES = ['index', 'http', 'metrics', 'execution'] as const;
const k6Dir = join(repoRoot, 'src', 'load', 'k6');
/** Where the runner bundle lives in the load runner image. */
export const IMAGE_APP_DIR = '/app';

/**
 * Kubernetes refuses a ConfigMap whose data exceeds 1 MiB (1,048,576 bytes: keys and values,
 * https://kubernetes.io/docs/concepts/configuration/configmap/#motivation); the script is its one key.
 */
export const CONFIGMAP_LIMIT_BYTES = 1 << 20;
export const SCRIPT_KEY = 'script.mjs';

/** Node can require() in an ESM bundle of CommonJS (undici) only through createRequire. */
const REQUIRE_BANNER =
  "import { createRequire as __ecCreateRequire } from 'node:module'; const require = __ecCreateRequire(import.meta.url);";

/** Bundle the runner and the k6 modules into `outDir`; returns the files written, relative to it. */
export async function bundleRunner(outDir: string): Promise<string[]> {
  const entryPoints: Record<string, string> = { runner: join(repoRoot, 'src', 'load', 'runner.ts') };
  for (const m of K6_MODULES) entryPoints[`k6/${m}`] = join(k6Dir, `${m}.ts`);
  const r = await esbuild.build({
    entryPoints,
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    banner: { js: REQUIRE_BANNER },
    metafile: true,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return Object.keys(r.metafile.outputs)
    .map((f) => relative(outDir, resolve(f)))
    .sort();
}

/** Rewrites the script's imports of src/load/k6/<m>.ts to the image's /app/k6/<m>.mjs. */
const k6External: esbuild.Plugin = {
  name: 'edgechaos-k6-external',
  setup(b) {
    b.onResolve({ filter: /k6\/(index|http|metrics|execution)(\.ts)?$/ }, (a) => {
      const p = resolve(a.resolveDir, a.path);
      const m = basename(p, '.ts');
      if (dirname(p) !== k6Dir || !(K6_MODULES as readonly string[]).includes(m)) return undefined;
      return { path: `${IMAGE_APP_DIR}/k6/${m}.mjs`, external: true };
    });
  },
};

/** Bundle a load script into one .mjs at `outFile` for the runner image; returns its size in bytes. */
export async function bundleScript(script: string, outFile: string): Promise<number> {
  try {
    await esbuild.build({
      entryPoints: [resolve(script)],
      outfile: outFile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      plugins: [k6External],
      banner: { js: REQUIRE_BANNER },
      logLevel: 'silent',
      legalComments: 'none',
    });
  } catch (e) {
    const errors = (e as { errors?: esbuild.Message[] }).errors ?? [];
    const why = errors.length
      ? errors
          .map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`)
          .join('; ')
      : String(e);
    throw new UsageError(`load script ${script} cannot be bundled for the load runner image: ${why}`);
  }
  return statSync(outFile).size;
}

/** Refuse a bundled script that a ConfigMap cannot carry. */
export function checkConfigMapSize(script: string, bytes: number, limit = CONFIGMAP_LIMIT_BYTES): void {
  const total = bytes + SCRIPT_KEY.length;
  if (total > limit)
    throw new UsageError(
      `load script ${script} bundles to ${bytes} bytes: over the ${limit}-byte limit of the ConfigMap that carries it to the load pods (Kubernetes refuses ConfigMaps over 1 MiB); import less into the script (the k6 modules themselves are not counted: the image has them)`,
    );
}

/** Bundle `script` aside and refuse it if a ConfigMap cannot carry it: before anything is deployed. */
export async function checkScriptBundles(script: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-script-'));
  try {
    const bytes = await bundleScript(script, join(dir, SCRIPT_KEY));
    checkConfigMapSize(script, bytes);
    return bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
