/**
 * Benchmark of the embedded Kubernetes control plane: prints figures, asserts nothing.
 *
 *   npx tsx bench/kube.ts [runs=3] [nodes=10]     (needs `edgechaos bootstrap --kube`)
 *
 * Measures, on this machine and on 127.0.0.1 only, from the built binaries in .tools/kube/:
 *   - time from start to a ready control plane with N kwok nodes all Ready (median and each run),
 *     split into etcd healthy, apiserver /readyz, controller-manager + scheduler /healthz, nodes Ready
 *   - deploying the reference stack (stack/deploy) through the kube target: apply → all ready, and
 *     pod latency created → scheduled → ready (p50/p99) from watch arrival times
 *   - one rescheduling trial after a node loss (kwok heartbeat stopped)
 */
import { CleanupRegistry, newRunId } from '../src/core/cleanup/registry.ts';
import { setLogLevel } from '../src/core/logger.ts';
import { startControlPlane } from '../src/control-plane/control-plane.ts';
import { measureRescheduling } from '../src/targets/kube/reschedule.ts';
import { KubeTarget } from '../src/targets/kube/target.ts';

const runs = Number(process.argv[2] ?? 3);
const nodes = Number(process.argv[3] ?? 10);
setLogLevel('warn');

const registry = CleanupRegistry.open(newRunId('bench-kube'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const ready: number[] = [];
  for (let i = 0; i < runs; i++) {
    await using cp = await startControlPlane({ nodes, registry });
    ready.push(cp.readyMs);
    const p = cp.phases;
    console.log(
      `run ${i + 1}: control plane with ${nodes} nodes ready in ${cp.readyMs} ms (etcd ${p.etcd}, apiserver ${p.apiserver}, components ${p.components}, nodes ${p.nodes})`,
    );
    if (i === runs - 1) {
      const target = await KubeTarget.connect({ kubeconfig: cp.kubeconfigPath() });
      const d = await target.deploy();
      const l = d.podLatency;
      console.log(
        `deploy stack/deploy: ready in ${d.readyMs} ms; ${l.pods} pods; created→scheduled p50 ${l.createdToScheduled.p50} ms p99 ${l.createdToScheduled.p99} ms; created→ready p50 ${l.createdToReady.p50} ms p99 ${l.createdToReady.p99} ms; ${l.scheduledPerSecond} pods/s`,
      );
      const r = await measureRescheduling({
        kc: target.kc,
        namespace: target.namespace,
        driver: cp.nodeLossDriver(),
        trials: 1,
      });
      const t = r.trials[0]!;
      console.log(
        `rescheduling (${r.mechanism}): ${t.podsOnNode} pods off ${t.node} Ready elsewhere in ${t.rescheduledMs} ms (taint seen ${t.detectedMs} ms, evicted ${t.evictedMs} ms)`,
      );
      await target.teardown();
    }
  }
  console.log(
    `median time to a ready control plane with ${nodes} nodes: ${median(ready)} ms over ${runs} run(s)`,
  );
} finally {
  await registry.close();
}
