import { existsSync, readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { ScenarioError } from '../core/errors.ts';

/** Format a zod issue path as a dotted field: faults[2].params.latency */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** Validate `value` against `schema`; the first problem becomes one ScenarioError naming file and field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, file: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  // For an unknown key the field is that key, so the message points at the typo itself.
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const field = fieldPath(keys.length === 1 ? [...issue.path, keys[0]!] : issue.path);
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : '';
  throw new ScenarioError(`${issue.message}${more}`, { file, ...(field ? { field } : {}) });
}

/**
 * Load a config file (TypeScript/JavaScript module with a default export, or JSON) and validate it.
 * Errors name the file and the field; nothing is applied before a file validates.
 */
export async function loadConfig<S extends z.ZodType>(
  file: string,
  schema: S,
  what: string,
): Promise<z.output<S>> {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new ScenarioError(`${what} file not found`, { file });
  let value: unknown;
  const ext = extname(abs);
  try {
    if (ext === '.json') value = JSON.parse(readFileSync(abs, 'utf8'));
    else if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
      // tsx's tsImport loads TypeScript whether or not the file sits in an ESM package (a scenario in
      // /tmp is treated as CommonJS, and then its default export arrives wrapped once more).
      const { tsImport } = await import('tsx/esm/api');
      const mod = (await tsImport(pathToFileURL(abs).href, import.meta.url)) as { default?: unknown };
      value = mod.default;
      if (value && typeof value === 'object' && Object.keys(value).length === 1 && 'default' in value)
        value = value.default;
      if (value === undefined) throw new ScenarioError(`${what} module has no default export`, { file });
    } else throw new ScenarioError(`${what} must be a .ts, .js or .json file`, { file });
  } catch (err) {
    if (err instanceof ScenarioError) throw err;
    const syntax = syntaxErrorOf(err);
    if (syntax)
      throw new ScenarioError(`${what} does not compile: ${syntax.message}`, {
        file: `${syntax.file}:${syntax.line}:${syntax.column}`,
        cause: err,
      });
    throw new ScenarioError(
      `cannot load ${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      { file, cause: err },
    );
  }
  return validate(schema, value, file);
}

/**
 * The first error of a failed esbuild transform (tsx compiles config files with esbuild), whose
 * message is "Transform failed with N error(s):" followed by "file:line:column: ERROR: message" lines.
 */
export function syntaxErrorOf(
  err: unknown,
): { file: string; line: number; column: number; message: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  for (const l of err.message.split('\n')) {
    const m = /^(.+):(\d+):(\d+): ERROR: (.+)$/.exec(l.trim());
    if (m) return { file: m[1]!, line: Number(m[2]), column: Number(m[3]), message: m[4]! };
  }
  return undefined;
}
