import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { TargetError } from '../../core/errors.ts';
import { repoRoot } from '../../core/paths.ts';
import { run } from '../../core/proc.ts';
import { requireTool } from '../../tools/find.ts';

/**
 * Uplink toxics on a cluster, as on the local target: a toxiproxy on every edge node (a DaemonSet
 * on the node's network, image built here from the pinned toxiproxy-server with the stack's
 * daemonless image builder), the edge agent's CLOUD_URL pointed at it, one proxy per node towards
 * the hub. The harness reaches each node's toxiproxy API at <node IP>:8474, so latency, bandwidth,
 * reset and timeout faults run unchanged.
 */

export const UPLINK_IMAGE = 'edgechaos/uplink-proxy:dev';
export const UPLINK_API_PORT = 8474;
export const UPLINK_PROXY = 'uplink';
/** Where the agent on the node sends its cloud traffic. */
export const UPLINK_LISTEN = '127.0.0.1:7100';

/** Build the uplink proxy image (docker-archive) into `dir`; returns its path. */
export async function buildUplinkImage(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, 'uplink-proxy-amd64.tar');
  await run([
    join(repoRoot, 'stack', 'dist', 'tools', 'mkimage'),
    '-name',
    'toxiproxy-server',
    '-bin',
    requireTool('toxiproxy-server'),
    '-arch',
    'amd64',
    '-port',
    String(UPLINK_API_PORT),
    '-out',
    out,
    '-tag',
    UPLINK_IMAGE,
  ]);
  return out;
}

/** Pure: the DaemonSet of uplink proxies on the edge nodes (its namespace is rewritten to the run's). */
export function uplinkDaemonSet(): KubernetesObject {
  const labels = { 'app.kubernetes.io/name': 'edgechaos-uplink', 'app.kubernetes.io/part-of': 'edgechaos' };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'edgechaos-uplink', namespace: 'edgechaos', labels },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'edgechaos-uplink' } },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'edgechaos.io/role': 'edge' },
          hostNetwork: true,
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'toxiproxy',
              image: UPLINK_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              args: ['-host', '0.0.0.0', '-port', String(UPLINK_API_PORT)],
              readinessProbe: { httpGet: { path: '/version', port: UPLINK_API_PORT }, periodSeconds: 2 },
            },
          ],
        },
      },
    },
  } as KubernetesObject;
}

/** Create (or replace) the node's proxy towards the hub through its toxiproxy API. */
export async function createUplinkProxy(api: string, upstream: string): Promise<void> {
  const res = await fetch(`${api}/populate`, {
    method: 'POST',
    body: JSON.stringify([{ name: UPLINK_PROXY, listen: UPLINK_LISTEN, upstream, enabled: true }]),
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok)
    throw new TargetError(`toxiproxy at ${api}: creating proxy ${UPLINK_PROXY} answered ${res.status}`);
}
