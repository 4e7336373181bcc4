import { ApiException } from '@kubernetes/client-node';
import { TargetError } from '../../core/errors.ts';

const NETWORK = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
]);

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = err, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++) {
    const c = (e as { code?: unknown }).code;
    if (typeof c === 'string') codes.push(c);
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string')
      for (const x of m.match(/\b(E[A-Z_]{4,}|ERR_TLS_[A-Z_]+|[A-Z_]*CERT[A-Z_]*)\b/g) ?? []) codes.push(x);
  }
  return codes;
}

function apiMessage(err: ApiException<unknown>): string {
  const body = err.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      /* not JSON */
    }
    return body.slice(0, 300);
  }
  if (body && typeof body === 'object' && 'message' in body) return String(body.message);
  return err.message.split('\n')[0] ?? '';
}

/**
 * One clear TargetError for a failed Kubernetes call: unreachable cluster, untrusted certificate,
 * rejected credentials, missing RBAC permission, or the API's own message.
 */
export function explainKubeError(err: unknown, what: string, server: string): TargetError {
  if (err instanceof TargetError) return err;
  if (err instanceof ApiException) {
    const msg = apiMessage(err as ApiException<unknown>);
    if (err.code === 401)
      return new TargetError(
        `${what}: credentials rejected by ${server} (401 Unauthorized) — check the kubeconfig's user/token`,
        { cause: err },
      );
    if (err.code === 403)
      return new TargetError(`${what}: missing RBAC permission (403 Forbidden): ${msg}`, { cause: err });
    return new TargetError(`${what}: HTTP ${err.code}: ${msg}`, { cause: err });
  }
  const codes = errorCodes(err);
  const net = codes.find((c) => NETWORK.has(c));
  if (net)
    return new TargetError(
      `${what}: cluster ${server} is unreachable (${net}) — is it running, and is the kubeconfig's server address right?`,
      { cause: err },
    );
  const tls = codes.find((c) => /CERT|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(c));
  if (tls)
    return new TargetError(
      `${what}: TLS to ${server} failed (${tls}) — the kubeconfig's certificate-authority data does not match the server`,
      { cause: err },
    );
  return new TargetError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
