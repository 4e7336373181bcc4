import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CleanupRegistry, newRunId } from '../core/cleanup/registry.ts';
import { LoopbackStack } from '../stack/loopback.ts';
import type { StackManifest } from '../stack/manifest.ts';
import { conform, type CaseResult, type ConformResult } from './suite.ts';

/**
 * Start `stack` on loopback (a temp data dir, its own cleanup registry), run the conformance suite
 * against it with every control hook (cloud cut, kill -9), stop it and remove the data dir.
 * Used by `edgechaos conform --stack` and `edgechaos submission check`.
 */
export async function conformStack(
  stack: StackManifest,
  opts: { only?: string[]; onCase?: (r: CaseResult) => void; signal: AbortSignal },
): Promise<ConformResult> {
  const dir = mkdtempSync(join(tmpdir(), 'edgechaos-conform-'));
  const registry = CleanupRegistry.open(newRunId('conform'));
  try {
    await using s = await LoopbackStack.start(stack, { dir, registry, signal: opts.signal });
    return await conform(
      { edge: s.edge, hub: s.hub, control: s },
      { ...(opts.only ? { only: opts.only } : {}), ...(opts.onCase ? { onCase: opts.onCase } : {}) },
    );
  } finally {
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
