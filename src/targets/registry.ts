import { UsageError } from '../core/errors.ts';
import type { TargetPlugin } from './plugin.ts';

/**
 * Every target by name. A target is one folder exporting one plugin; adding one means adding its
 * folder and one line here (see src/targets/README.md). Loaded lazily, so a command that needs one
 * target does not load the Kubernetes client for another.
 */
const loaders: Readonly<Record<string, () => Promise<TargetPlugin>>> = {
  local: async () => (await import('./local/plugin.ts')).localPlugin,
  'kube-local': async () => (await import('./kube-local/plugin.ts')).kubeLocalPlugin,
  kind: async () => (await import('./kind/plugin.ts')).kindPlugin,
  kube: async () => (await import('./kube/plugin.ts')).kubePlugin,
  ssh: async () => (await import('./ssh/plugin.ts')).sshPlugin,
};

export const targetNames: readonly string[] = Object.keys(loaders);

/** The target called `name`, or one clear error listing the ones there are. */
export async function targetPlugin(name: string): Promise<TargetPlugin> {
  const load = loaders[name];
  if (!load)
    throw new UsageError(`unknown target "${name}" (targets: ${targetNames.join(', ')})`, {
      field: 'target',
    });
  return load();
}

/** Every target, loaded. */
export function allTargets(): Promise<TargetPlugin[]> {
  return Promise.all(targetNames.map((n) => loaders[n]!()));
}

/** Reject options the target does not take (an `--inventory` given to `--target kind` is a mistake). */
export function checkTargetOptions(
  t: TargetPlugin,
  options: Readonly<Record<string, string | undefined>>,
): void {
  for (const [k, v] of Object.entries(options))
    if (v !== undefined && !(k in t.options))
      throw new UsageError(
        `--${k} does not apply to --target ${t.name}${
          Object.keys(t.options).length
            ? ` (it takes: ${Object.keys(t.options)
                .map((o) => `--${o}`)
                .join(', ')})`
            : ''
        }`,
      );
}

/**
 * The running deployment `runId` on whichever target holds it, or the newest across every target
 * that can leave one running; one clear error when there is none.
 */
export async function findDeployment(
  runId: string | undefined,
): Promise<{ target: TargetPlugin; runId: string }> {
  let best: { target: TargetPlugin; runId: string; at: number } | undefined;
  for (const t of await allTargets()) {
    const f = t.detached?.find(runId);
    // the newest wins; for one deployment two targets know (kube-local extends local), the one
    // registered later — the more specific — wins
    if (f && (!best || f.at > best.at || f.runId === best.runId))
      best = { target: t, runId: f.runId, at: f.at };
  }
  // A local deployment whose description was removed by hand: its journal alone is enough to destroy it.
  if (!best && runId) {
    const local = await targetPlugin('local');
    return { target: local, runId };
  }
  if (!best)
    throw new UsageError(
      runId
        ? `no deployment "${runId}" (see edgechaos deploy)`
        : 'no deployment found: run `edgechaos deploy` first',
    );
  return best;
}
