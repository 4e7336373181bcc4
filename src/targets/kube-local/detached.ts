import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { kwokNodeLoss, startControlPlane } from '../../control-plane/control-plane.ts';
import type { CleanupHandle, CleanupRegistry } from '../../core/cleanup/registry.ts';
import { UsageError } from '../../core/errors.ts';
import { stateDir } from '../../core/paths.ts';
import { deployKubeSide, keepOnlyLogs, kubeControl } from '../kube/campaign.ts';
import type { NodeLossDriver } from '../kube/reschedule.ts';
import { deployDetachedLocal, localDetached } from '../local/detached.ts';
import { LocalDeployment } from '../local/deployment.ts';
import { loadDeploymentState } from '../local/state.ts';
import type { DetachedTarget } from '../plugin.ts';
import { faultSurface } from '../surface.ts';
import { frozenNodeLoss, mirrorNodes } from './plugin.ts';

/** What a later process needs to reach a running kube-local deployment's cluster. */
interface KubeLocalState {
  version: 1;
  target: 'kube-local';
  runId: string;
  kubeconfig: string;
  namespace: string;
  createdAt: string;
}

const dir = (): string => join(stateDir(), 'kube-local-deployments');
const fileOf = (runId: string): string => join(dir(), `${runId}.json`);

function readState(runId: string): KubeLocalState | undefined {
  if (!existsSync(fileOf(runId))) return undefined;
  const s = JSON.parse(readFileSync(fileOf(runId), 'utf8')) as KubeLocalState;
  if (s.version !== 1 || s.target !== 'kube-local')
    throw new UsageError(`${fileOf(runId)}: not a kube-local deployment state`);
  return s;
}

/**
 * kube-local's node loss from another process: the node's processes frozen (journaled in that
 * process's registry) and kwok's heartbeat stopped, through the cluster's API.
 */
function nodeLossOf(
  kc: KubeConfig,
  dep: LocalDeployment,
  freeze: Map<string, CleanupHandle>,
  registry: CleanupRegistry,
): NodeLossDriver {
  return frozenNodeLoss(kwokNodeLoss(kc), dep, freeze, registry);
}

/**
 * `edgechaos deploy|inject|destroy --target kube-local`: the local data plane plus the embedded
 * control plane with the stack's manifests, left running in one journal; `inject` reaches both
 * (so `inject drain --node edge-2` works), `destroy` replays the journal.
 */
export const kubeLocalDetached: DetachedTarget = {
  deploy: (req, signal) =>
    deployDetachedLocal(req, signal, async ({ dep, registry, runId, runDir }) => {
      const edges = dep.edges.map((e) => ({ name: e.name, profile: dep.node(e.name).profile ?? 'x86-edge' }));
      const cp = await startControlPlane({
        nodes: mirrorNodes(edges),
        registry,
        dir: join(runDir, 'kube'),
        signal,
      });
      cp.detach();
      const kubeconfig = cp.kubeconfigPath();
      const side = await deployKubeSide({
        kubeconfig,
        stack: req.stack,
        runId,
        nodeLoss: cp.nodeLossDriver(),
        signal,
      });
      mkdirSync(dir(), { recursive: true, mode: 0o700 });
      const s: KubeLocalState = {
        version: 1,
        target: 'kube-local',
        runId,
        kubeconfig,
        namespace: side.target.namespace,
        createdAt: new Date().toISOString(),
      };
      writeFileSync(`${fileOf(runId)}.tmp`, JSON.stringify(s, null, 2), { mode: 0o600 });
      renameSync(`${fileOf(runId)}.tmp`, fileOf(runId));
    }),

  find(runId) {
    if (runId) return readState(runId) ? { runId, at: statSync(fileOf(runId)).mtimeMs } : undefined;
    const local = localDetached.find(undefined);
    return local && readState(local.runId) ? local : undefined;
  },

  attach(runId, registry) {
    const s = readState(runId);
    if (!s) throw new UsageError(`no kube-local deployment "${runId}"`);
    const dep = LocalDeployment.attach(loadDeploymentState(runId));
    const kc = new KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const frozen = new Map<string, CleanupHandle>();
    const nodeLoss = nodeLossOf(kc, dep, frozen, registry);
    const side = { kc, kubeconfig: s.kubeconfig, target: { namespace: s.namespace } };
    return Promise.resolve({
      runId,
      surface: faultSurface(
        dep,
        kubeControl(side, nodeLoss, (n) => n),
      ),
      // a node still frozen when the inject ends is thawed with the fault's revert; nothing else is held
      detach: () => Promise.resolve(),
    });
  },

  async destroy(runId) {
    const s = readState(runId);
    const r = await localDetached.destroy(runId);
    if (r.failed.length === 0) {
      rmSync(fileOf(runId), { force: true });
      // the cluster's keys, tokens and kubeconfigs are secrets: only its logs stay
      if (s) keepOnlyLogs(dirname(s.kubeconfig));
    }
    return r;
  },
};
