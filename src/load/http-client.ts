import { Agent, type Dispatcher } from 'undici';

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
  killers?: Set<(err: Error) => void> | undefined;
}

const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** One pool per origin; `connections` bounds the sockets per origin (like k6's per-VU connections). */
export function createAgent(connections: number): Agent {
  return new Agent({
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

function parseOrigin(url: string): { origin: string; path: string } {
  // Fast path for the common http://host:port/path form; URL parsing is the fallback.
  const i = url.indexOf('/', url.indexOf('//') + 2);
  if (url.startsWith('http://') && i > 0) return { origin: url.slice(0, i), path: url.slice(i) };
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname + u.search };
}

const textDecoder = new TextDecoder();

/** One HTTP request; never throws: a request that got no full answer comes back with `error`. */
export function httpRequest(agent: Dispatcher, o: RequestOptions): Promise<RawResult> {
  return new Promise((resolve) => {
    const start = performance.now();
    let tConnect = start;
    let tSent = start;
    let tHeaders = 0;
    let status = 0;
    let rawHeaders: Buffer[] = [];
    const chunks: Buffer[] = [];
    let kept = 0;
    let bodyBytes = 0;
    const max = o.maxBodyBytes ?? 1 << 20;
    let settled = false;
    let abortFn: ((err?: Error) => void) | undefined;
    let sent = false;
    // Set once undici is about to write the request to a socket: before that, nothing was sent.
    let written = false;
    const timer: { t?: NodeJS.Timeout } = {};
    const kill = (err: Error): void => (abortFn ? abortFn(err) : finish(err));
    const onAbort = (): void => kill(new Error('aborted'));
    const finish = (error?: Error & { code?: string }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer.t);
      o.signal?.removeEventListener('abort', onAbort);
      o.killers?.delete(kill);
      const end = performance.now();
      const h = tHeaders || end;
      const body =
        chunks.length === 1
          ? textDecoder.decode(chunks[0])
          : chunks.length
            ? Buffer.concat(chunks).toString()
            : '';
      const code = error?.code;
      resolve({
        status: error ? 0 : status,
        rawHeaders,
        body,
        bodyBytes,
        timings: {
          blocked: tConnect - start,
          sending: tSent - tConnect,
          waiting: (tHeaders || end) - tSent,
          receiving: tHeaders ? end - h : 0,
          duration: end - tConnect,
        },
        ...(error ? { error: code ?? error.message } : {}),
        notSent: error !== undefined && !sent && (!written || (code !== undefined && NOT_SENT.has(code))),
        start,
        end,
      });
    };
    if (o.signal?.aborted) return finish(new Error('aborted'));
    let target: { origin: string; path: string };
    try {
      target = parseOrigin(o.url);
    } catch (e) {
      return finish(e as Error);
    }
    timer.t = setTimeout(
      () => kill(Object.assign(new Error(`timeout after ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      o.timeoutMs,
    );
    o.signal?.addEventListener('abort', onAbort, { once: true });
    o.killers?.add(kill);
    agent.dispatch(
      {
        origin: target.origin,
        path: target.path,
        method: o.method,
        headers: o.headers,
        body: o.body ?? null,
      },
      {
        onConnect(abort) {
          abortFn = abort;
          tConnect = performance.now();
          if (settled) abort(new Error('aborted'));
          else written = true;
        },
        onRequestSent() {
          tSent = performance.now();
          sent = true;
        },
        onHeaders(statusCode, raw, _resume, _text) {
          if (statusCode < 200) return true;
          tHeaders = performance.now();
          sent = true;
          status = statusCode;
          rawHeaders = raw;
          return true;
        },
        onData(chunk) {
          bodyBytes += chunk.length;
          if (kept < max) {
            const c = kept + chunk.length > max ? chunk.subarray(0, max - kept) : chunk;
            chunks.push(c);
            kept += c.length;
          }
          return true;
        },
        onComplete() {
          finish();
        },
        onError(err) {
          finish(err);
        },
      } as Dispatcher.DispatchHandler,
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
