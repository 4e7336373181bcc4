import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ProcessIdentity } from '../proc.ts';

/** Something applied to the world that must be reverted: plain data, so a later process can revert it. */
export interface CleanupEntry {
  id: string;
  kind: string;
  /** Human description, e.g. "partition edge-1 ↔ cloud". */
  what: string;
  data: Record<string, unknown>;
  at: string;
}

type JournalLine =
  | { op: 'open'; runId: string; owner: ProcessIdentity; argv: string[]; at: string }
  | { op: 'add'; entry: CleanupEntry }
  | { op: 'done'; id: string };

/**
 * Append-only, fsynced journal of one run's applied resources. An entry is written (and synced)
 * BEFORE the effect is applied, so a crash can only leave a journal that names more than is applied,
 * never less; reverts are idempotent, so over-naming is harmless.
 */
export class Journal {
  private fd: number | undefined;

  private constructor(readonly path: string) {}

  static create(dir: string, runId: string, owner: ProcessIdentity): Journal {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const j = new Journal(join(dir, `${runId}.journal`));
    j.fd = openSync(j.path, 'a', 0o600);
    j.append({ op: 'open', runId, owner, argv: process.argv.slice(1), at: new Date().toISOString() });
    return j;
  }

  append(line: JournalLine): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed`);
    writeSync(this.fd, JSON.stringify(line) + '\n');
    fsyncSync(this.fd);
  }

  /** Close; remove the file when nothing is left applied. */
  close(removeFile: boolean): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (removeFile) rmSync(this.path, { force: true });
  }
}

export interface JournalState {
  path: string;
  runId: string;
  owner: ProcessIdentity | undefined;
  /** Entries added and not yet reverted, in the order they were applied. */
  pending: CleanupEntry[];
}

/** Replay a journal; a torn last line (crash mid-write) is ignored. */
export function readJournal(path: string): JournalState {
  const text = readFileSync(path, 'utf8');
  const state: JournalState = { path, runId: '', owner: undefined, pending: [] };
  const open = new Map<string, CleanupEntry>();
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let line: JournalLine;
    try {
      line = JSON.parse(raw) as JournalLine;
    } catch {
      continue;
    }
    if (line.op === 'open') {
      state.runId = line.runId;
      state.owner = line.owner;
    } else if (line.op === 'add') open.set(line.entry.id, line.entry);
    else if (line.op === 'done') open.delete(line.id);
  }
  state.pending = [...open.values()];
  return state;
}

export function listJournals(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.journal'))
    .map((f) => join(dir, f))
    .sort();
}

/** Reopen an existing journal for appending 'done' lines (used by cleanup). */
export function appendDone(path: string, id: string): void {
  const fd = openSync(path, 'a');
  try {
    writeSync(fd, JSON.stringify({ op: 'done', id } satisfies JournalLine) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
