/**
 * k6's `k6/http` for edgechaos load scripts: `http.get/post/put/patch/del/head/options/request`,
 * awaited (`const res = await http.get(url)` — the one difference from k6). Each request records k6's
 * http_req_* metrics and one `http` sample; with `params.write = { id, node }` a POST is also recorded
 * in the write history the sync checks trust (an edgechaos extension).
 */
import { parseDuration } from '../../core/duration.ts';
import { headersOf, httpRequest, type RawResult } from '../http-client.ts';
import { classifyWrite, IterationInterrupted, runtime } from '../runtime.ts';

export interface Params {
  headers?: Record<string, string>;
  /** Tags of the request's samples; `name` groups URLs (default: the URL), `node` names the target node. */
  tags?: Record<string, string>;
  /** k6 duration (`'3s'`) or milliseconds; default 60 s as in k6. */
  timeout?: string | number;
  /** edgechaos: record this request in the client-side write history (id, node, outcome). */
  write?: { id: string; node: string; payloadBytes?: number };
}

export type RequestBody = string | Buffer | Record<string, string | number | boolean> | null | undefined;

export interface Timings {
  blocked: number;
  connecting: number;
  tls_handshaking: number;
  sending: number;
  waiting: number;
  receiving: number;
  duration: number;
}

export interface Response {
  status: number;
  /** The response body as text (kept up to 1 MiB). */
  body: string;
  headers: Record<string, string>;
  timings: Timings;
  /** Empty when an answer came; the error otherwise (k6: `error`, `error_code`). */
  error: string;
  error_code: number;
  url: string;
  request: { method: string; url: string };
  /** The body parsed as JSON; `selector` is a dotted path (`data.items.0.id`). */
  json(selector?: string): unknown;
}

function errorCode(e: string | undefined): number {
  if (!e) return 0;
  if (e === 'ETIMEDOUT' || e === 'UND_ERR_HEADERS_TIMEOUT' || e === 'UND_ERR_BODY_TIMEOUT') return 1050;
  if (e === 'ECONNREFUSED') return 1212;
  if (e === 'ECONNRESET' || e === 'UND_ERR_SOCKET') return 1220;
  if (e === 'ENOTFOUND' || e === 'EAI_AGAIN') return 1100;
  return 1000;
}

const NO_JSON = Symbol('unparsed');

/** k6's Response; a class (one allocation per request, methods on the prototype), headers decoded on use. */
class HttpResponse implements Response {
  readonly status: number;
  readonly body: string;
  readonly error: string;
  readonly error_code: number;
  private hdrs: Record<string, string> | undefined;
  private timingsObj: Timings | undefined;
  private parsed: unknown = NO_JSON;
  constructor(
    private readonly method: string,
    readonly url: string,
    private readonly r: RawResult,
  ) {
    this.status = r.status;
    this.body = r.body;
    this.error = r.error ?? '';
    this.error_code = errorCode(r.error);
  }
  get headers(): Record<string, string> {
    return (this.hdrs ??= headersOf(this.r.rawHeaders));
  }
  get timings(): Timings {
    const t = this.r.timings;
    return (this.timingsObj ??= { ...t, connecting: 0, tls_handshaking: 0 });
  }
  get request(): { method: string; url: string } {
    return { method: this.method, url: this.url };
  }
  json(selector?: string): unknown {
    if (this.parsed === NO_JSON) {
      try {
        this.parsed = JSON.parse(this.body);
      } catch {
        this.parsed = undefined;
      }
    }
    if (!selector) return this.parsed;
    let v: unknown = this.parsed;
    for (const k of selector.split('.'))
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return v;
  }
}

const RESERVED = new Set(['name', 'node', 'scenario']);

function baseExtra(tags: Record<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const src of [runtime.globalTags, tags])
    for (const k in src) if (!RESERVED.has(k)) (out ??= {})[k] = src[k]!;
  return out;
}

async function request(method: string, url: string, body?: RequestBody, params?: Params): Promise<Response> {
  const agent = runtime.agent;
  if (!agent) throw new Error('http requests work only inside the load runner (iterations, setup, teardown)');
  const st = runtime.current();
  const timeoutMs =
    params?.timeout === undefined
      ? 60_000
      : typeof params.timeout === 'number'
        ? params.timeout
        : parseDuration(params.timeout, 'params.timeout');
  let headers = params?.headers;
  let payload: string | Buffer | undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
  else if (body && typeof body === 'object') {
    // k6 sends an object body form-encoded.
    payload = new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)])).toString();
    headers = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  }
  if (st?.signal.aborted) throw new IterationInterrupted();
  // The VU's own connection when it is free (k6: connections per VU), else the shared pool.
  const own = st?.http && !st.httpBusy ? st.http : undefined;
  if (st) st.httpBusy = (st.httpBusy ?? 0) + 1;
  const r = await httpRequest(own ?? agent, {
    method,
    url,
    body: payload,
    headers,
    timeoutMs,
    ...(st?.killers ? { killers: st.killers } : { signal: st?.signal }),
  });
  if (st) st.httpBusy!--;
  const write = params?.write;
  const reqTags = params?.tags;
  const name = reqTags?.['name'] ?? (write ? 'write' : url);
  const node = reqTags?.['node'] ?? write?.node;
  const scenario = st?.scenario?.name ?? '';
  let duration = r.timings.duration;
  let lag: number | undefined;
  if (st?.firstRequest) {
    st.firstRequest = false;
    // Coordinated omission: measured from when the iteration should have started.
    const corrected = r.end - st.intendedStart;
    if (corrected > duration) {
      lag = corrected - duration;
      duration = corrected;
    }
  }
  const ok = r.status >= 200 && r.status < 400;
  const t = Math.round((r.start - runtime.t0) * 1000) / 1000;
  // Tags other than name/node/scenario: options.tags and scenario tags (constant per VU, cached), then
  // the request's own.
  let extra = st ? (st.extraTags ??= baseExtra(st.tags)) : baseExtra(runtime.globalTags);
  if (reqTags) {
    for (const k in reqTags) {
      if (RESERVED.has(k)) continue;
      if (extra === st?.extraTags || extra === undefined) extra = { ...extra };
      extra[k] = reqTags[k]!;
    }
  }
  const group = st?.group;
  // One JSON line, built directly (this is the runner's hot path); its constant head is cached per VU.
  let head = st?.lineHead;
  if (
    !head ||
    head.scenario !== scenario ||
    head.method !== method ||
    head.name !== name ||
    head.node !== node
  ) {
    head = {
      scenario,
      method,
      name,
      node,
      text:
        `{"type":"http","scenario":${JSON.stringify(scenario)},"method":${JSON.stringify(method)},"name":${JSON.stringify(name)}` +
        (node !== undefined ? `,"node":${JSON.stringify(node)}` : ''),
    };
    if (st) st.lineHead = head;
  }
  runtime.out.line(
    `${head.text},"t":${t},"status":${r.status},"ok":${ok},"duration":${Math.round(duration * 1000) / 1000}` +
      (lag !== undefined ? `,"lag":${Math.round(lag * 1000) / 1000}` : '') +
      (r.error ? `,"error":${JSON.stringify(r.error)}` : '') +
      (group ? `,"group":${JSON.stringify(group)}` : '') +
      (extra ? `,"tags":${JSON.stringify(extra)}` : '') +
      '}',
  );
  if (write) {
    runtime.out.emit({
      type: 'write',
      t,
      tDone: runtime.now(),
      id: write.id,
      node: write.node,
      payloadBytes: write.payloadBytes ?? (payload === undefined ? 0 : Buffer.byteLength(payload)),
      outcome: classifyWrite(r, write.id),
      status: r.status,
    });
  }
  const reg = runtime.registry;
  const tags = runtime.httpTagged
    ? {
        ...extra,
        name,
        ...(node !== undefined ? { node } : {}),
        scenario,
        method,
        status: String(r.status),
        group: group ?? '',
        expected_response: String(ok),
      }
    : undefined;
  const m = reg.builtin;
  m.http_reqs.add(1, tags);
  m.http_req_duration.add(duration, tags);
  m.http_req_blocked.add(r.timings.blocked, tags);
  m.http_req_sending.add(r.timings.sending, tags);
  m.http_req_waiting.add(r.timings.waiting, tags);
  m.http_req_receiving.add(r.timings.receiving, tags);
  m.http_req_failed.add(ok ? 0 : 1, tags);
  m.data_sent.add(payload === undefined ? 0 : Buffer.byteLength(payload), tags);
  m.data_received.add(r.bodyBytes, tags);
  if (st?.signal.aborted) throw new IterationInterrupted();
  return new HttpResponse(method, url, r);
}

const http = {
  request,
  get: (url: string, params?: Params) => request('GET', url, undefined, params),
  head: (url: string, params?: Params) => request('HEAD', url, undefined, params),
  options: (url: string, body?: RequestBody, params?: Params) => request('OPTIONS', url, body, params),
  post: (url: string, body?: RequestBody, params?: Params) => request('POST', url, body, params),
  put: (url: string, body?: RequestBody, params?: Params) => request('PUT', url, body, params),
  patch: (url: string, body?: RequestBody, params?: Params) => request('PATCH', url, body, params),
  del: (url: string, body?: RequestBody, params?: Params) => request('DELETE', url, body, params),
};

export default http;
