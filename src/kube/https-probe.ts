import { request } from 'node:https';

export interface ProbeResult {
  status: number;
  body: string;
}

/** GET over HTTPS with a pinned CA (or none: `insecure`, for components' self-signed /healthz). */
export function httpsGet(
  url: string,
  opts: { ca?: string; token?: string; insecure?: boolean; timeoutMs?: number },
): Promise<ProbeResult> {
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
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
