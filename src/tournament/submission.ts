import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { fieldPath, loadConfig } from '../config/load.ts';
import { ScenarioError } from '../core/errors.ts';
import { conformStack } from '../conform/loopback.ts';
import type { CaseResult } from '../conform/suite.ts';
import { imageConfig, imageSize } from '../images/archive.ts';
import { findOnPath, loadStack, stackSchema, type StackManifest } from '../stack/manifest.ts';

/**
 * `edgechaos submission check`: is a submission fit to enter a tournament? Everything that can be
 * checked before campaign time is spent, with one problem per finding, each naming file and field:
 * the manifest's schema, its commands, its images (present, readable as image archives, within the
 * size limits), its Kubernetes manifests folder, and a conformance pass of every contract behaviour.
 */

export interface Problem {
  file: string;
  field?: string;
  message: string;
}

export interface SubmissionLimits {
  /** Compressed size of each image, as pushed. */
  maxImageBytes: number;
  /** Bytes of the whole submission folder. */
  maxFolderBytes: number;
}

export const defaultLimits: SubmissionLimits = { maxImageBytes: 50e6, maxFolderBytes: 500e6 };

export interface SubmissionReport {
  manifest: string | undefined;
  problems: Problem[];
  images: { name: string; file: string; compressedBytes?: number }[];
  conformance?: CaseResult[];
}

/** The manifest of a submission: the file itself, or in a folder `edgechaos.stack.ts`, `stack.ts` or the one `*.stack.{ts,json}`. */
export function findManifest(path: string): string | Problem {
  const abs = resolve(path);
  if (!existsSync(abs)) return { file: abs, message: 'no such file or folder' };
  if (statSync(abs).isFile()) return abs;
  for (const n of ['edgechaos.stack.ts', 'stack.ts', 'edgechaos.stack.json'])
    if (existsSync(join(abs, n))) return join(abs, n);
  const found = readdirSync(abs).filter((n) => /\.stack\.(ts|json)$/.test(n));
  if (found.length === 1) return join(abs, found[0]!);
  return {
    file: abs,
    message: found.length
      ? `${found.length} stack manifests here (${found.join(', ')}): name one`
      : 'no stack manifest here (edgechaos.stack.ts, stack.ts or one *.stack.ts)',
  };
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += folderBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

/** Every schema problem of the manifest (not only the first). */
async function schemaProblems(file: string): Promise<Problem[]> {
  let value: unknown;
  try {
    value = await loadConfig(file, z.unknown(), 'stack manifest');
  } catch (err) {
    const e = err as ScenarioError;
    return [{ file: e.file ?? file, ...(e.field ? { field: e.field } : {}), message: e.message }];
  }
  const r = stackSchema.safeParse(value);
  if (r.success) return [];
  return r.error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const field = fieldPath(keys.length === 1 ? [...issue.path, keys[0]!] : issue.path);
    return { file, ...(field ? { field } : {}), message: issue.message };
  });
}

function commandProblems(m: StackManifest): Problem[] {
  const out: Problem[] = [];
  for (const role of ['edge', 'hub'] as const) {
    const exe = m[role].command[0]!;
    const field = `${role}.command[0]`;
    if (!exe.includes('/')) {
      if (findOnPath(exe) === undefined)
        out.push({ file: m.file, field, message: `command "${exe}" is not on PATH` });
    } else if (!existsSync(exe)) out.push({ file: m.file, field, message: `${exe} does not exist` });
    else
      try {
        accessSync(exe, constants.X_OK);
        if (!statSync(exe).isFile()) throw new Error('not a file');
      } catch {
        out.push({ file: m.file, field, message: `${exe} is not an executable file` });
      }
  }
  return out;
}

function imageProblems(m: StackManifest, limits: SubmissionLimits, report: SubmissionReport): Problem[] {
  const out: Problem[] = [];
  for (const [name, file] of Object.entries(m.images)) {
    const field = `images.${name}`;
    if (!existsSync(file)) {
      out.push({ file: m.file, field, message: `image archive ${file} does not exist` });
      continue;
    }
    try {
      imageConfig(file);
      const size = imageSize(file);
      report.images.push({ name, file, compressedBytes: size.compressedBytes });
      if (size.compressedBytes > limits.maxImageBytes)
        out.push({
          file: m.file,
          field,
          message: `image ${name} is ${(size.compressedBytes / 1e6).toFixed(1)} MB compressed, over the limit of ${(limits.maxImageBytes / 1e6).toFixed(0)} MB`,
        });
    } catch (err) {
      report.images.push({ name, file });
      out.push({ file: m.file, field, message: `not a loadable image archive: ${(err as Error).message}` });
    }
  }
  for (const role of ['edge', 'hub'] as const) {
    const img = m[role].image;
    if (img && !existsSync(img))
      out.push({ file: m.file, field: `${role}.image`, message: `image ${img} does not exist` });
  }
  if (m.kube && !(existsSync(m.kube.manifests) && statSync(m.kube.manifests).isDirectory()))
    out.push({ file: m.file, field: 'kube.manifests', message: `${m.kube.manifests} is not a folder` });
  return out;
}

/** Check a submission; `conformance: false` skips the quick conformance pass (it starts the stack). */
export async function checkSubmission(
  path: string,
  opts: {
    limits?: SubmissionLimits;
    conformance?: boolean;
    signal: AbortSignal;
    onCase?: (r: CaseResult) => void;
  },
): Promise<SubmissionReport> {
  const limits = opts.limits ?? defaultLimits;
  const found = findManifest(path);
  if (typeof found !== 'string') return { manifest: undefined, problems: [found], images: [] };
  const report: SubmissionReport = { manifest: found, problems: [], images: [] };
  report.problems.push(...(await schemaProblems(found)));
  if (report.problems.length) return report;
  const m = await loadStack(found, { requireBuilt: false });
  report.problems.push(...commandProblems(m), ...imageProblems(m, limits, report));
  const dir = resolve(path);
  if (statSync(dir).isDirectory()) {
    const bytes = folderBytes(dir);
    if (bytes > limits.maxFolderBytes)
      report.problems.push({
        file: dir,
        message: `the submission folder holds ${(bytes / 1e6).toFixed(0)} MB, over the limit of ${(limits.maxFolderBytes / 1e6).toFixed(0)} MB`,
      });
  }
  // Conformance starts the stack: only worth it when everything it needs is there.
  if (report.problems.length || opts.conformance === false) return report;
  // Every behaviour of the contract (the whole suite takes ~10 s on loopback, cloud cut and kill -9 included).
  let result: Awaited<ReturnType<typeof conformStack>>;
  try {
    result = await conformStack(m, { signal: opts.signal, ...(opts.onCase ? { onCase: opts.onCase } : {}) });
  } catch (err) {
    if (opts.signal.aborted) throw err;
    report.problems.push({
      file: found,
      field: 'conformance',
      message: `the stack did not start on loopback: ${(err as Error).message.split('\n')[0]}`,
    });
    return report;
  }
  report.conformance = result.cases;
  for (const c of result.cases)
    if (c.status !== 'passed')
      report.problems.push({
        file: found,
        field: `conformance.${c.id}`,
        message: `contract behaviour "${c.title}" ${c.status}: ${c.reason ?? ''}`.trim(),
      });
  return report;
}

/** One line per problem: `file: field: message`, the file relative to the working directory. */
export function formatProblem(p: Problem): string {
  const f = relative(process.cwd(), p.file) || basename(p.file);
  return `${f}: ${p.field ? `field ${p.field}: ` : ''}${p.message}`;
}
