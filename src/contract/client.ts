/**
 * A small client for the stack contract (stack/contract/openapi.yaml). Used by the conformance
 * suite and the checks; it reports what the stack answered and never interprets failures away.
 */
export interface LedgerRow {
  node: string;
  id: string;
  ts: number;
  payload: unknown;
  row: number | string;
}

export interface EdgeStatus {
  node: string;
  mode: 'online' | 'offline';
  pending: number;
  lastSyncAt: string | null;
  configVersion: number;
}

export interface Answer<T = unknown> {
  status: number;
  body: T | undefined;
  text: string;
}

/**
 * Bounds on everything read from a stack under test, so a hostile or broken stack cannot exhaust the
 * harness: one answer of an edge or the hub is at most 4 MiB (the contract's answers are a few kB),
 * one ledger page at most 32 MiB (5,000 rows of ≤ 128-character ids and small payloads are ~1 MiB),
 * a whole ledger read at most 256 MiB of response text; every request, body included, has a timeout.
 * So the text held from the stack stays under 256 + 32 MiB per ledger read and 4 MiB per other call.
 */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
export const MAX_LEDGER_PAGE_BYTES = 32 * 1024 * 1024;
export const MAX_LEDGER_BYTES = 256 * 1024 * 1024;

/** A stack answered more than the harness reads, or too slowly: named by method and URL. */
export class StackAnswerError extends Error {
  override readonly name = 'StackAnswerError';
}

const MiB = (n: number): string => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) ? 1 : 0)} MiB`;

/**
 * Read a response body up to `maxBytes`; stops reading (and cancels the stream, so the connection is
 * dropped) as soon as the limit is passed, whatever Content-Length says.
 */
export async function readBounded(res: Response, maxBytes: number, what: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new StackAnswerError(`${what}: answer of ${declared} bytes is over the ${MiB(maxBytes)} limit`);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new StackAnswerError(`${what}: answer over the ${MiB(maxBytes)} limit; stopped reading`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One request to a stack under test: `timeoutMs` covers connecting, the headers and the whole body;
 * the body is read up to `maxBytes` (default 4 MiB).
 */
export async function call<T = unknown>(
  method: string,
  url: string,
  body?: unknown,
  timeoutMs = 5000,
  maxBytes = MAX_ANSWER_BYTES,
): Promise<Answer<T>> {
  const what = `${method} ${url}`;
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  let status: number;
  try {
    const res = await fetch(url, {
      method,
      ...(body !== undefined
        ? {
            body: typeof body === 'string' ? body : JSON.stringify(body),
            headers: { 'content-type': 'application/json' },
          }
        : {}),
      signal,
    });
    status = res.status;
    text = await readBounded(res, maxBytes, what);
  } catch (err) {
    if (signal.aborted && !(err instanceof StackAnswerError))
      throw new StackAnswerError(`${what}: no complete answer within ${timeoutMs} ms`, { cause: err });
    throw err;
  }
  let parsed: T | undefined;
  try {
    parsed = JSON.parse(text) as T;
  } catch {
    parsed = undefined;
  }
  return { status, body: parsed, text };
}

/** Every ledger row of `node` (all pages), in row order. */
export async function readLedger(
  hub: string,
  node: string | undefined,
  pageSize = 5000,
  limits: { pageBytes?: number; totalBytes?: number } = {},
): Promise<{ rows: LedgerRow[]; pages: number }> {
  const pageBytes = limits.pageBytes ?? MAX_LEDGER_PAGE_BYTES;
  const totalBytes = limits.totalBytes ?? MAX_LEDGER_BYTES;
  const rows: LedgerRow[] = [];
  let after: string | null = null;
  let pages = 0;
  let bytes = 0;
  for (;;) {
    const q = new URLSearchParams({ limit: String(pageSize) });
    if (node) q.set('node', node);
    if (after !== null) q.set('after', after);
    const a = await call<{ records: LedgerRow[]; next: string | number | null }>(
      'GET',
      `${hub}/v1/records?${q.toString()}`,
      undefined,
      15_000,
      pageBytes,
    );
    bytes += Buffer.byteLength(a.text);
    if (bytes > totalBytes)
      throw new StackAnswerError(
        `GET ${hub}/v1/records: ledger over the ${MiB(totalBytes)} limit; stopped reading`,
      );
    if (a.status !== 200 || !a.body || !Array.isArray(a.body.records)) {
      throw new Error(`GET ${hub}/v1/records answered ${a.status}: ${a.text.slice(0, 200)}`);
    }
    pages++;
    rows.push(...a.body.records);
    if (a.body.next === null || a.body.next === undefined || a.body.records.length === 0) break;
    after = String(a.body.next);
    if (pages > 100_000) throw new Error('ledger pagination does not end');
  }
  return { rows, pages };
}

export async function edgeStatus(edge: string): Promise<EdgeStatus> {
  const a = await call<EdgeStatus>('GET', `${edge}/v1/status`);
  if (a.status !== 200 || !a.body) throw new Error(`GET ${edge}/v1/status answered ${a.status}`);
  if (typeof a.body.configVersion !== 'number' || typeof a.body.pending !== 'number')
    throw new Error(
      `GET ${edge}/v1/status answered without numeric configVersion/pending: ${a.text.slice(0, 200)}`,
    );
  return a.body;
}

/** PUT a new config on the hub; the answer must carry the new version as a whole number. */
export async function putConfig(hub: string, data: unknown): Promise<{ version: number }> {
  const a = await call<{ version?: unknown }>('PUT', `${hub}/v1/config`, { data });
  if (a.status !== 200 || !a.body) throw new Error(`PUT ${hub}/v1/config answered ${a.status}`);
  const v = a.body.version;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new Error(
      `PUT ${hub}/v1/config answered 200 without a whole-number "version": ${a.text.slice(0, 200)}`,
    );
  return { version: v };
}
