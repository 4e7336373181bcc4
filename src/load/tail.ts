import { closeSync, openSync, readSync } from 'node:fs';

/** Reads what a load runner appended to samples.jsonl since the last call (for live progress). */
export class SampleTail {
  private offset = 0;
  private rest = '';
  requests = 0;
  errors = 0;

  constructor(private readonly file: string) {}

  /** Counts of HTTP samples (and failed ones) that arrived since the previous read. */
  read(): { requests: number; errors: number } {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return { requests: 0, errors: 0 };
    }
    const buf = Buffer.alloc(1 << 20);
    let text = this.rest;
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        text += buf.toString('utf8', 0, n);
      }
    } finally {
      closeSync(fd);
    }
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    let requests = 0;
    let errors = 0;
    for (const l of lines) {
      if (!l.startsWith('{"type":"http"')) continue;
      requests++;
      if (l.includes('"ok":false')) errors++;
    }
    this.requests += requests;
    this.errors += errors;
    return { requests, errors };
  }
}
