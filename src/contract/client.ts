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

export async function call<T = unknown>(
  method: string,
  url: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<Answer<T>> {
  const res = await fetch(url, {
    method,
    ...(body !== undefined
      ? {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }
      : {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: T | undefined;
  try {
    parsed = JSON.parse(text) as T;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/** Every ledger row of `node` (all pages), in row order. */
export async function readLedger(
  hub: string,
  node: string | undefined,
  pageSize = 5000,
): Promise<{ rows: LedgerRow[]; pages: number }> {
  const rows: LedgerRow[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const q = new URLSearchParams({ limit: String(pageSize) });
    if (node) q.set('node', node);
    if (after !== null) q.set('after', after);
    const a = await call<{ records: LedgerRow[]; next: string | number | null }>(
      'GET',
      `${hub}/v1/records?${q.toString()}`,
      undefined,
      15_000,
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
  return a.body;
}
