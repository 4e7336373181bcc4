import { Agent, request, type RequestOptions } from 'node:https';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { nowMs } from '../targets/kube/object-store.ts';

/**
 * Creates pods with plain HTTPS POSTs over a pool of kept-alive connections and bodies
 * serialised before the clock starts. The generated client opens a new TLS connection and
 * runs its object serialiser for every call; at a few hundred pods per second that made the
 * harness (and the apiserver's handshakes) the bottleneck, and its speed — hence the backlog a
 * scheduler saw — varied with whatever else the 2-core machine was doing.
 */
export class PodCreator {
  private constructor(
    private readonly server: URL,
    private readonly options: RequestOptions,
    private readonly agent: Agent,
  ) {}

  static async open(kc: KubeConfig, maxSockets: number): Promise<PodCreator> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const agent = new Agent({
      keepAlive: true,
      maxSockets,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    });
    return new PodCreator(new URL(cluster.server), { headers: { ...opts.headers } }, agent);
  }

  /** JSON bodies, serialised up front. */
  static serialise(pods: readonly V1Pod[]): string[] {
    return pods.map((p) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...p }));
  }

  /**
   * POST one pod; `onSent` gets the time the request was handed to the socket (the pod's
   * creation time as the benchmark counts it). Rejects on any status but 201.
   */
  create(namespace: string, body: string, onSent: (at: number) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, this.server),
        {
          ...this.options,
          method: 'POST',
          agent: this.agent,
          headers: {
            ...this.options.headers,
            'content-type': 'application/json',
            accept: 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            if (text.length < 2000) text += d;
          });
          res.on('end', () =>
            res.statusCode === 201
              ? resolve()
              : reject(
                  new Error(`create pod in ${namespace}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`),
                ),
          );
        },
      );
      // A call the API server never answers fails the round instead of hanging it.
      req.setTimeout(30_000, () => req.destroy(new Error(`create pod in ${namespace}: no answer in 30 s`)));
      req.on('error', reject);
      onSent(nowMs());
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
