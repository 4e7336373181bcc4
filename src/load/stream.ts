/**
 * A load runner whose samples travel on its standard output — a pod's log, streamed back to the
 * harness (`--load-replicas` on a cluster) — instead of a file beside the harness.
 *
 * The stream is the runner's stdout and stderr interleaved (a pod's log holds both):
 * - every sample is one JSON line starting with `{"type":"` (samples.jsonl's own lines);
 * - at the end, the trailer: `edgechaos-load-result <i> <n> <base64>` lines, i = 1..n, whose
 *   joined base64 is the JSON of {@link StreamTrailer} (how many sample lines were written, the exit
 *   code, the engine's result with its histograms for merging). Each line stays under 8 KiB, half
 *   of containerd's 16 KiB log line, so the runtime never splits one and a stderr line cannot land
 *   in the middle of it;
 * - any other line is the runner's log (thresholds, errors), kept as text.
 * The reader checks the count: a stream that lost or never ended its samples is an error, not a
 * smaller sample.
 */
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineResult } from './engine.ts';
import { parseSegment } from './segment.ts';
import type { Sample } from './types.ts';

export const RESULT_TAG = 'edgechaos-load-result';
const CHUNK = 8000;
const LOG_LINES = 200;

/** What a streamed runner says last. */
export interface StreamTrailer {
  /** Sample lines it wrote. */
  samples: number;
  exitCode: number;
  /** The engine's result (absent when the script failed before or during the run). */
  result?: EngineResult;
}

/** The trailer as lines (no newline), each under 8 KiB. */
export function trailerLines(t: StreamTrailer): string[] {
  const b64 = Buffer.from(JSON.stringify(t)).toString('base64');
  const n = Math.max(1, Math.ceil(b64.length / CHUNK));
  return Array.from(
    { length: n },
    (_, i) => `${RESULT_TAG} ${i + 1} ${n} ${b64.slice(i * CHUNK, (i + 1) * CHUNK)}`,
  );
}

/**
 * The execution segment of an Indexed Job's pod (k6-operator's split): index i of N runs
 * i/N:(i+1)/N. `index` is the pod's JOB_COMPLETION_INDEX, `replicas` the Job's completions.
 */
export function jobSegment(index: string | undefined, replicas: string | undefined): string {
  const i = Number(index);
  const n = Number(replicas);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(i) || i < 0 || i >= n || index === '')
    throw new RangeError(
      `job segment: JOB_COMPLETION_INDEX ${JSON.stringify(index)} of LOAD_REPLICAS ${JSON.stringify(replicas)} is not an index 0..N-1 of N >= 1`,
    );
  const seg = `${i}/${n}:${i + 1}/${n}`;
  parseSegment(seg, 'job segment');
  return seg;
}

/**
 * Reads a streamed runner's output as it arrives (chunks cut anywhere): each sample line goes to
 * `onSample` as written, the trailer is reassembled, the rest kept as log text (the last 200 lines).
 */
export class StreamDecoder {
  private rest = '';
  private parts: string[] = [];
  private partsOf = 0;
  samples = 0;
  readonly log: string[] = [];
  trailer: StreamTrailer | undefined;

  constructor(private readonly onSample: (line: string, sample: Sample) => void) {}

  push(text: string): void {
    const all = this.rest + text;
    let i = 0;
    for (let j = all.indexOf('\n'); j >= 0; j = all.indexOf('\n', i)) {
      this.line(all.slice(i, j));
      i = j + 1;
    }
    this.rest = all.slice(i);
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    if (this.rest) this.line(this.rest);
    this.rest = '';
  }

  private line(raw: string): void {
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.startsWith('{"type":"')) {
      let s: Sample | undefined;
      try {
        s = JSON.parse(l) as Sample;
      } catch {
        s = undefined;
      }
      if (s) {
        this.samples++;
        this.onSample(l, s);
        return;
      }
    } else if (l.startsWith(`${RESULT_TAG} `)) {
      const [, is, ns, body] = l.split(' ');
      const at = Number(is);
      const of = Number(ns);
      if (at === 1) {
        this.parts = [];
        this.partsOf = of;
      }
      if (of === this.partsOf && at === this.parts.length + 1 && body !== undefined) {
        this.parts.push(body);
        if (at === of)
          this.trailer = JSON.parse(Buffer.from(this.parts.join(''), 'base64').toString()) as StreamTrailer;
        return;
      }
    }
    this.log.push(l);
    if (this.log.length > LOG_LINES) this.log.shift();
  }

  /** Why the stream cannot be trusted, or undefined when every sample the runner wrote arrived. */
  problem(): string | undefined {
    if (!this.trailer) return `the stream ended without the runner's result (${this.samples} samples read)`;
    if (this.trailer.samples !== this.samples)
      return `${this.trailer.samples} samples written, ${this.samples} read: the stream lost some`;
    return undefined;
  }
}

/**
 * One streamed runner's output written as a runner beside the harness leaves it: `dir`/samples.jsonl
 * (appended as the lines arrive, so the campaign sees the load start) and, at the end,
 * `dir`/load-result.json from the trailer (what readLoadResult reads).
 */
export class SegmentSink {
  readonly decoder: StreamDecoder;
  private readonly fd: number;
  private buf: string[] = [];
  private closed = false;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const samples = join(dir, 'samples.jsonl');
    rmSync(samples, { force: true });
    rmSync(join(dir, 'load-result.json'), { force: true });
    this.fd = openSync(samples, 'a', 0o600);
    this.decoder = new StreamDecoder((line) => this.buf.push(line));
  }

  /** Feed a chunk of the stream; its complete sample lines are on disk when this returns (ignored once ended). */
  push(text: string): void {
    if (this.closed) return;
    this.decoder.push(text);
    if (this.buf.length) {
      writeSync(this.fd, this.buf.join('\n') + '\n');
      this.buf = [];
    }
  }

  /** The stream ended: close the samples, write the result; returns why it cannot be trusted, if so. */
  end(): string | undefined {
    if (!this.closed) {
      this.decoder.end();
      this.push('');
      this.closed = true;
      closeSync(this.fd);
    }
    const t = this.decoder.trailer;
    if (t?.result) writeFileSync(join(this.dir, 'load-result.json'), JSON.stringify(t.result));
    return this.decoder.problem();
  }
}
