import { request } from 'node:https';

export interface ProbeResult {
  status: number;
  body: string;
}

/** GET over HTTPS with a pinned CA (or none: `insecure`, for components' self-signed /healthz). */
export async function httpsGet(
  url: string,
  opts: { ca?: string; token?: string; insecure?: boolean; timeoutMs?: number },
): Promise<ProbeResult> {
  const r = await httpsGetBytes(url, opts);
  return { status: r.status, body: r.bytes.toString('utf8') };
}

/** httpsGet with the body as bytes (pprof profiles are gzipped protobuf). */
export function httpsGetBytes(
  url: string,
  opts: { ca?: string; token?: string; insecure?: boolean; timeoutMs?: number },
): Promise<{ status: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        timeout: opts.timeoutMs ?? 2000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
