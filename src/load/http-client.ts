import { Agent, request } from 'node:http';
import type { HttpResponse } from './types.ts';

const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 1000 });

export interface RawResult extends HttpResponse {
  /** The request never left (connection refused, DNS): definitely not applied. */
  notSent: boolean;
}

/** One HTTP/1.1 request on a keep-alive pool; never throws: errors come back in `error`. */
export function httpRequest(
  method: string,
  url: string,
  body: string | undefined,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<RawResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number, text: string, error?: string, notSent = false): void => {
      if (settled) return;
      settled = true;
      const duration = performance.now() - t0;
      resolve({
        status,
        body: text,
        timings: { duration },
        notSent,
        ...(error ? { error } : {}),
        json<T>(): T | undefined {
          try {
            return JSON.parse(text) as T;
          } catch {
            return undefined;
          }
        },
      });
    };
    const req = request(
      url,
      {
        method,
        agent,
        headers: {
          ...headers,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => finish(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (e) => finish(0, '', e.message));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) =>
      finish(
        0,
        '',
        e.code ?? e.message,
        e.code === 'ECONNREFUSED' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH',
      ),
    );
    req.end(body);
  });
}
