import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { relative } from 'node:path';
import { repoRoot } from '../core/paths.ts';
import { run } from '../core/proc.ts';
import type { Provenance } from './schema.ts';
import { harnessVersion } from './version.ts';

export const sha256Text = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** sha256 of a file's bytes, streamed (image archives can be large). */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** `git rev-parse HEAD` of the harness checkout, "-dirty" when tracked files changed; undefined outside git. */
export async function gitCommit(cwd = repoRoot): Promise<string | undefined> {
  try {
    const head = (await run(['git', 'rev-parse', 'HEAD'], { cwd })).stdout.trim();
    const dirty = (
      await run(['git', 'status', '--porcelain', '--untracked-files=no'], { cwd })
    ).stdout.trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return undefined;
  }
}

/** `go version` (e.g. "go1.26.0"), undefined when no Go toolchain is on PATH. */
export async function goVersion(): Promise<string | undefined> {
  try {
    return /go\d+\.\d+(?:\.\d+)?/.exec((await run(['go', 'version'])).stdout)?.[0];
  } catch {
    return undefined;
  }
}

/** Kernel, CPU model and core count of the machine the run measured on. */
export function hostInfo(): Provenance['host'] {
  const cs = cpus();
  const model = cs[0]?.model?.trim() || readCpuModel();
  return { kernel: release(), cpuModel: model || 'unknown', cores: cs.length };
}

function readCpuModel(): string | undefined {
  try {
    return /^(?:model name|Model)\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim();
  } catch {
    return undefined;
  }
}

export interface ProvenanceInput {
  rubric: { name: string; version: string; file: string };
  scenarioFile: string;
  stack: { name: string; version: string; file: string; images: Record<string, string> };
  target: string;
  seed: number;
  /** Competitor label (--label); default the stack's name. */
  label?: string;
}

/** Everything a reader needs to tell where a score came from and to rerun it. */
export async function collectProvenance(p: ProvenanceInput): Promise<Provenance> {
  const images = await Promise.all(
    Object.values(p.stack.images).map(async (file) => ({
      file: relative(repoRoot, file),
      digest: `sha256:${await sha256File(file).catch(() => 'missing')}`,
    })),
  );
  const [commit, go] = await Promise.all([gitCommit(), goVersion()]);
  return {
    harnessVersion: harnessVersion(),
    ...(commit ? { gitCommit: commit } : {}),
    rubric: {
      name: p.rubric.name,
      version: p.rubric.version,
      sha256: sha256Text(readFileSync(p.rubric.file)),
    },
    scenarioSha256: sha256Text(readFileSync(p.scenarioFile)),
    stack: {
      name: p.stack.name,
      version: p.stack.version,
      manifestSha256: sha256Text(readFileSync(p.stack.file)),
      images,
    },
    target: p.target,
    host: hostInfo(),
    node: process.version,
    ...(go ? { go } : {}),
    seed: p.seed,
    label: p.label ?? p.stack.name,
  };
}
