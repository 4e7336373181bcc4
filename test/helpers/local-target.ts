import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { loadStack } from '../../src/stack/manifest.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';
import { saveDeploymentState } from '../../src/targets/local/state.ts';
import { LocalTarget } from '../../src/targets/local/target.ts';

/** The reference stack on the local target, one edge per profile (edge-1, edge-2, …), its run dir `dir`/run. */
export async function deployLocalEdges(
  profiles: readonly string[],
  o: { runId: string; dir: string; registry: CleanupRegistry },
): Promise<LocalDeployment> {
  return new LocalTarget().deploy(
    await loadStack(),
    { edges: profiles.map((profile, i) => ({ name: `edge-${i + 1}`, profile })) },
    { runId: o.runId, runDir: join(o.dir, 'run'), registry: o.registry },
  );
}

/**
 * The reference stack with these edges (default profile), its state saved as `edgechaos deploy`
 * does, so `edgechaos inject --run <runId>` (and cleanup) find it.
 */
export async function deployForInject(
  edges: readonly string[],
  o: { runId: string; dir: string; registry: CleanupRegistry },
): Promise<LocalDeployment> {
  const dep = await new LocalTarget().deploy(
    await loadStack(),
    { edges: edges.map((name) => ({ name })) },
    { runId: o.runId, runDir: join(o.dir, 'run'), registry: o.registry },
  );
  saveDeploymentState(dep.state);
  return dep;
}

/** A suite's `after`: tear the deployment down and close its journal, then remove `dir` whatever happened. */
export async function teardownLocal(
  dep: LocalDeployment | undefined,
  reg: CleanupRegistry | undefined,
  dir: string,
): Promise<void> {
  try {
    await dep?.teardown();
    await reg?.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
