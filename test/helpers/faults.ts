import type { ResolvedFault } from '../../faults/types.ts';

/** A resolved fault for plan tests: id f1 on edge-1, 10 s, seed 7, unless `extra` says otherwise. */
export const resolvedFault = (
  kind: string,
  params: Record<string, unknown> = {},
  extra: Partial<ResolvedFault> = {},
): ResolvedFault => ({
  id: 'f1',
  kind,
  node: 'edge-1',
  params,
  durationMs: 10_000,
  seed: 7,
  ...extra,
});
