import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Reads what a load runner appended to samples.jsonl since the last call (for live progress),
 * 256 KiB at a time: memory is one chunk and one partial line, however far behind the reader is.
 */
export class SampleTail {
  private offset = 0;
  private rest = '';
  private readonly buf = Buffer.alloc(1 << 18);
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
    let requests = 0;
    let errors = 0;
    const count = (l: string): void => {
      if (!l.startsWith('{"type":"http"')) return;
      requests++;
      if (l.includes('"ok":false')) errors++;
    };
    try {
      for (;;) {
        const n = readSync(fd, this.buf, 0, this.buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        const nl = this.buf.lastIndexOf(10, n - 1);
        if (nl < 0) {
          this.rest += this.buf.toString('utf8', 0, n);
          if (this.rest.length > 1 << 20) this.rest = ''; // not a samples file line; skip it
          continue;
        }
        const text = this.rest + this.buf.toString('utf8', 0, nl);
        this.rest = this.buf.toString('utf8', nl + 1, n);
        let i = 0;
        for (let j = text.indexOf('\n'); j >= 0; j = text.indexOf('\n', i)) {
          count(text.slice(i, j));
          i = j + 1;
        }
        count(text.slice(i));
      }
    } finally {
      closeSync(fd);
    }
    this.requests += requests;
    this.errors += errors;
    return { requests, errors };
  }
}
