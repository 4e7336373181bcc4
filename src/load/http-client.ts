import { Agent, Client, type Dispatcher } from 'undici';

/**
 * The load runner's HTTP engine: undici connection pools (HTTP/1.1, keep-alive) driven through the
 * low-level `dispatch()` handler API, so that each phase of a request can be timed without a
 * streams layer in between. Timings follow k6's `http_req_*` metrics where undici exposes the point:
 *   blocked   dispatch → request written to a socket (waiting for a free connection, incl. connecting)
 *   sending   written → body sent
 *   waiting   body sent → first response byte (status line)
 *   receiving headers → last body byte
 *   duration  sending + waiting + receiving (k6's http_req_duration)
 * Connecting and TLS handshaking are not attributed per request by undici: they are inside `blocked`
 * (the loopback targets are plain HTTP, so TLS is always 0).
 */
export interface Timings {
  blocked: number;
  sending: number;
  waiting: number;
  receiving: number;
  duration: number;
}

export interface RawResult {
  status: number;
  /** Raw response headers, name/value alternating (decode with `headersOf`). */
  rawHeaders: Buffer[];
  body: string;
  /** Bytes of the response body (the body text is cut at the size limit, this is not). */
  bodyBytes: number;
  timings: Timings;
  /** Error text when no complete HTTP answer came (refused, reset, timeout, aborted). */
  error?: string;
  /** The request never left (connection refused, unreachable): definitely not applied. */
  notSent: boolean;
  /** ms (performance.now()) when the request was dispatched and when it settled. */
  start: number;
  end: number;
}

export interface RequestOptions {
  method: string;
  url: string;
  body?: string | Buffer | undefined;
  headers?: Record<string, string> | undefined;
  timeoutMs: number;
  /** Bytes of response body kept as text (the rest is counted and dropped); default 1 MiB. */
  maxBodyBytes?: number;
  signal?: AbortSignal | undefined;
  /**
   * Cheaper than `signal` on the hot path: the request adds its abort function to this set while it
   * is in flight (the owner calls them all to abort), instead of an AbortSignal listener each.
   */
  killers?: Set<Killable> | undefined;
}

/** A request in flight that its owner can abort. */
export interface Killable {
  kill(err: Error): void;
}

const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

const POOL_OPTIONS = {
  pipelining: 1,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 60_000,
  headersTimeout: 0,
  bodyTimeout: 0,
} as const;

/** One pool per origin; `connections` bounds the sockets per origin (like k6's per-VU connections). */
export function createAgent(connections: number): Agent {
  return new Agent({ connections, ...POOL_OPTIONS });
}

/** What a request is dispatched on: an Agent, or a VU's own connections. */
export type Dispatch = Pick<Dispatcher, 'dispatch'>;

/**
 * A VU's own connections, as in k6 (each VU keeps its connections): one keep-alive undici Client per
 * origin, dispatched on directly — no pool lookup and no wait for a free pool slot per request. A VU
 * that has a request in flight sends its concurrent ones through the shared Agent instead (see
 * k6/http.ts), so this Client never queues.
 */
export class VuConnections implements Dispatch {
  private readonly clients = new Map<string, Client>();
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = opts.origin as string;
    let c = this.clients.get(origin);
    if (!c) this.clients.set(origin, (c = new Client(origin, POOL_OPTIONS)));
    return c.dispatch(opts, handler);
  }
  async close(): Promise<void> {
    const cs = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(cs.map((c) => c.destroy()));
  }
}

function parseOrigin(url: string): { origin: string; path: string } {
  // Fast path for the common http://host:port/path form; URL parsing is the fallback.
  const i = url.indexOf('/', url.indexOf('//') + 2);
  if (url.startsWith('http://') && i > 0) return { origin: url.slice(0, i), path: url.slice(i) };
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname + u.search };
}

const textDecoder = new TextDecoder();

/**
 * Request timeouts without a timer per request: the requests in flight are swept every 25 ms by one
 * timer that runs only while some are in flight (a timeout fires up to 25 ms late).
 */
const SWEEP_MS = 25;
const inflight = new Set<Exchange>();
let sweeper: NodeJS.Timeout | undefined;
function sweep(): void {
  const now = performance.now();
  for (const x of inflight)
    if (now >= x.deadline)
      x.kill(Object.assign(new Error(`timeout after ${x.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
  if (inflight.size === 0) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * One request in flight: its own dispatch handler (one object per request, not a closure per
 * callback), settled once with a RawResult.
 */
class Exchange implements Dispatcher.DispatchHandler, Killable {
  readonly start = performance.now();
  readonly deadline: number;
  private tConnect = this.start;
  private tSent = this.start;
  private tHeaders = 0;
  private status = 0;
  private rawHeaders: Buffer[] = [];
  private chunks: Buffer[] = [];
  private kept = 0;
  private bodyBytes = 0;
  private settled = false;
  private abortFn: ((err?: Error) => void) | undefined;
  private sent = false;
  // Set once undici is about to write the request to a socket: before that, nothing was sent.
  private written = false;
  private onAbort: (() => void) | undefined;

  constructor(
    readonly timeoutMs: number,
    private readonly max: number,
    private readonly o: RequestOptions,
    private readonly resolve: (r: RawResult) => void,
  ) {
    this.deadline = this.start + timeoutMs;
  }

  kill(err: Error): void {
    if (this.abortFn) this.abortFn(err);
    else this.finish(err);
  }

  arm(): void {
    inflight.add(this);
    sweeper ??= setInterval(sweep, SWEEP_MS).unref();
    if (this.o.signal) {
      this.onAbort = () => this.kill(new Error('aborted'));
      this.o.signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.o.killers?.add(this);
  }

  finish(error?: Error & { code?: string }): void {
    if (this.settled) return;
    this.settled = true;
    inflight.delete(this);
    if (this.onAbort) this.o.signal?.removeEventListener('abort', this.onAbort);
    this.o.killers?.delete(this);
    const end = performance.now();
    const { chunks, tHeaders, tConnect, tSent } = this;
    const body =
      chunks.length === 1
        ? textDecoder.decode(chunks[0])
        : chunks.length
          ? Buffer.concat(chunks).toString()
          : '';
    const code = error?.code;
    const r: RawResult = {
      status: error ? 0 : this.status,
      rawHeaders: this.rawHeaders,
      body,
      bodyBytes: this.bodyBytes,
      timings: {
        blocked: tConnect - this.start,
        sending: tSent - tConnect,
        waiting: (tHeaders || end) - tSent,
        receiving: tHeaders ? end - tHeaders : 0,
        duration: end - tConnect,
      },
      notSent:
        error !== undefined && !this.sent && (!this.written || (code !== undefined && NOT_SENT.has(code))),
      start: this.start,
      end,
    };
    if (error) r.error = code ?? error.message;
    this.resolve(r);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    this.tConnect = performance.now();
    if (this.settled) abort(new Error('aborted'));
    else this.written = true;
  }
  onRequestSent(): void {
    this.tSent = performance.now();
    this.sent = true;
  }
  onHeaders(statusCode: number, raw: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.tHeaders = performance.now();
    this.sent = true;
    this.status = statusCode;
    this.rawHeaders = raw;
    return true;
  }
  onData(chunk: Buffer): boolean {
    this.bodyBytes += chunk.length;
    if (this.kept < this.max) {
      const c = this.kept + chunk.length > this.max ? chunk.subarray(0, this.max - this.kept) : chunk;
      this.chunks.push(c);
      this.kept += c.length;
    }
    return true;
  }
  onComplete(): void {
    this.finish();
  }
  onError(err: Error): void {
    this.finish(err);
  }
}

/** One HTTP request; never throws: a request that got no full answer comes back with `error`. */
export function httpRequest(agent: Dispatch, o: RequestOptions): Promise<RawResult> {
  return new Promise((resolve) => {
    const x = new Exchange(o.timeoutMs, o.maxBodyBytes ?? 1 << 20, o, resolve);
    if (o.signal?.aborted) return x.finish(new Error('aborted'));
    let target: { origin: string; path: string };
    try {
      target = parseOrigin(o.url);
    } catch (e) {
      return x.finish(e as Error);
    }
    x.arm();
    agent.dispatch(
      {
        origin: target.origin,
        path: target.path,
        method: o.method,
        headers: o.headers,
        body: o.body ?? null,
      },
      x,
    );
  });
}

/** Response headers by lower-case name (repeated headers joined with ", "). */
export function headersOf(raw: readonly Buffer[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toString('latin1').toLowerCase();
    const v = raw[i + 1]!.toString('latin1');
    h[k] = h[k] === undefined ? v : `${h[k]}, ${v}`;
  }
  return h;
}

/**
 * Warm the HTTP path up before the clock starts, as k6 initializes its VUs before a test: undici
 * loads its HTTP/1.1 client and compiles its parser (WebAssembly) on the first connection, and the
 * JIT has not compiled the hot path yet — on a loaded machine that stalled the first second of a
 * run by hundreds of ms (every arrival of it late). `n` requests to a throwaway loopback server of
 * this process; nothing is sent to the target.
 */
export async function warmUp(n = 300, concurrency = 4): Promise<void> {
  const { createServer } = await import('node:http');
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"warm":true}'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/warm-up`;
  const conns = Array.from({ length: concurrency }, () => new VuConnections());
  try {
    let left = n;
    await Promise.all(
      conns.map(async (c) => {
        while (left-- > 0) await httpRequest(c, { method: 'GET', url, timeoutMs: 5000 });
      }),
    );
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
}
