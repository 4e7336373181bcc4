import { AppsV1Api, CoreV1Api, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { logger } from '../core/logger.ts';
import type { StartedControlPlane } from '../control-plane/control-plane.ts';
import { ObjectStore, nowMs } from '../targets/kube/object-store.ts';
import { isPodReady, quantiles } from '../targets/kube/pod-latency.ts';
import { ensureNamespace } from './bench-pods.ts';
import type { MigrationResult } from './bench-types.ts';
import { CPU_LOAD, DATA_SOURCE_LABEL, EDGE_SCHEDULER_NAME } from './keys.ts';
import type { Topology } from './topology.ts';

const log = logger('bench-scheduling');

/**
 * Overload migration: a Deployment placed by the edge scheduler, then the node holding most of
 * its pods reports a CPU load of 0.97; `edge-scheduler migrate` taints the node and evicts them,
 * and the edge scheduler places the replacements. Time from the overload signal to each
 * replacement Ready elsewhere; a replacement placed back onto the overloaded node is counted.
 */
export async function migrationTrials(
  cp: StartedControlPlane,
  t: Topology,
  trials: number,
  signal: AbortSignal,
): Promise<MigrationResult> {
  const kc = cp.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const namespace = 'bench-migrate';
  await ensureNamespace(core, namespace);
  const replicas = 6;
  const labels = { app: 'migrate', [DATA_SOURCE_LABEL]: t.sources[0]! };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'work' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'migrate' } },
        template: {
          metadata: { labels },
          spec: {
            schedulerName: EDGE_SCHEDULER_NAME,
            terminationGracePeriodSeconds: 0,
            containers: [
              {
                name: 'work',
                image: 'registry.invalid/edgechaos/bench:1',
                resources: { requests: { cpu: '400m', memory: '64Mi' } },
              },
            ],
          },
        },
      },
    },
  });
  const store = await ObjectStore.start<V1Pod>(kc, {
    apiVersion: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespace,
  });
  const samples: number[] = [];
  const moves: string[] = [];
  let evicted = 0;
  let backOnOverloaded = 0;
  const patchNode = (name: string, ann: Record<string, string>): Promise<unknown> =>
    core.patchNode(
      { name, body: { metadata: { annotations: ann } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
  const live = (pods: V1Pod[]): V1Pod[] => pods.filter((p) => !p.metadata?.deletionTimestamp);
  try {
    for (let trial = 0; trial < trials; trial++) {
      await store.waitFor((pods) => live(pods).length === replicas && live(pods).every(isPodReady), signal);
      const perNode = new Map<string, string[]>();
      for (const p of live([...store.objects.values()])) {
        const n = p.spec!.nodeName!;
        perNode.set(n, [...(perNode.get(n) ?? []), p.metadata!.uid!]);
      }
      const [victimNode, victims] = [...perNode.entries()].sort((a, b) => b[1].length - a[1].length)[0]!;
      const before = new Set(live([...store.objects.values()]).map((p) => p.metadata!.uid!));
      const original = t.nodes.find((n) => n.name === victimNode)!;
      const t0 = nowMs();
      await patchNode(victimNode, { [CPU_LOAD]: '0.97' });
      // Done when none of the victims is left and every replica is Ready again.
      await store.waitFor((pods) => {
        const l = live(pods);
        return (
          l.length === replicas && l.every(isPodReady) && !l.some((p) => victims.includes(p.metadata!.uid!))
        );
      }, signal);
      for (const p of live([...store.objects.values()])) {
        const uid = p.metadata!.uid!;
        if (before.has(uid)) continue;
        const ready = store.events.find((e) => e.object.metadata?.uid === uid && isPodReady(e.object));
        moves.push(`${victimNode} → ${p.spec?.nodeName ?? '?'}`);
        if (p.spec?.nodeName === victimNode) backOnOverloaded++;
        else if (ready) samples.push(ready.at - t0);
      }
      evicted += victims.length;
      await patchNode(victimNode, { [CPU_LOAD]: String(original.cpuLoad) });
      log.info(`migration trial ${trial + 1}: ${victims.length} pod(s) moved off ${victimNode}`);
    }
  } finally {
    store.stop();
  }
  return { trials, toReady: quantiles(samples), evicted, moves, backOnOverloaded };
}
