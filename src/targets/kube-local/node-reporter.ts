import { CoreV1Api, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { edgeStatus } from '../../contract/client.ts';
import { logger } from '../../core/logger.ts';
import { CPU_LOAD, latencyKey, MEM_LOAD, UPLINK } from '../../scheduling/index.ts';
import type { Deployment } from '../types.ts';

const log = logger('node-reporter');

/**
 * What the edge scheduler reads, written onto the mirrored nodes once a second from the data plane
 * (the reporter a real cluster runs beside each agent): CPU load = cgroup CPU time over the board's
 * quota, memory load = cgroup memory over its limit, uplink = the agent's own online/offline mode,
 * latency to the cloud = the board profile's uplink latency.
 */
export function startNodeReporter(
  kc: KubeConfig,
  dep: Deployment,
  edges: readonly { name: string }[],
): { stop(): void } {
  const api = kc.makeApiClient(CoreV1Api);
  const last = new Map<string, { t: number; cpu: number }>();
  let busy = false;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      await Promise.all(
        edges.map(async (n) => {
          const info = dep.node(n.name);
          const stats = await dep.stats(n.name);
          if (!stats) return;
          const t = performance.now();
          const prev = last.get(n.name);
          last.set(n.name, { t, cpu: stats.cpuSeconds });
          const cpus = info.limits?.cpus ?? 1;
          const cpuLoad = prev ? (stats.cpuSeconds - prev.cpu) / ((t - prev.t) / 1000) / cpus : 0;
          const memLoad = stats.memoryLimitBytes ? stats.memoryBytes / stats.memoryLimitBytes : 0;
          const edge = dep.edges.find((e) => e.name === n.name)!;
          const st = await edgeStatus(edge.url).catch(() => undefined);
          const annotations: Record<string, string> = {
            [CPU_LOAD]: Math.max(0, cpuLoad).toFixed(3),
            [MEM_LOAD]: Math.max(0, memLoad).toFixed(3),
            [latencyKey('cloud')]: String(info.limits?.uplink?.latencyMs ?? 1),
            ...(st ? { [UPLINK]: st.mode === 'offline' ? 'down' : 'up' } : {}),
          };
          await api.patchNode(
            { name: n.name, body: { metadata: { annotations } } },
            setHeaderOptions('Content-Type', 'application/merge-patch+json'),
          );
        }),
      );
    } catch (err) {
      log.debug(`node reporter: ${String(err)}`);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 1000);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer) };
}
