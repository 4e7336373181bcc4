import { requireDataLayer } from './io-error.ts';
import { faultTag, Params } from './params.ts';
import type { FaultKind } from './types.ts';

export type DiskFullParams = Record<string, never>;

/** The fill file of a fault: in the node's size-limited disk, named after the fault (pure). */
export function fillPath(backingDir: string, tag: string): string {
  return `${backingDir}/.${tag}.fill`;
}

/**
 * The node's data disk runs out of space: a file the fault owns takes every free block of the
 * size-limited file system under the data dir; revert deletes it. Writes that need new blocks then
 * fail with ENOSPC (a store may still write into space it had already allocated).
 */
export const diskFull: FaultKind<DiskFullParams> = {
  kind: 'disk-full',
  description:
    "fill the edge's size-limited data disk to its limit with a file the fault owns (revert deletes it)",
  needs: ['shell', 'data'],
  params: {},
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    ps.done();
    requireDataLayer(fault, ctx);
    return {};
  },
  plan(_p, fault, ctx) {
    const layer = requireDataLayer(fault, ctx);
    const file = fillPath(layer.backingDir, faultTag(fault));
    return {
      fault,
      summary: `disk-full ${fault.node} (${Math.round(layer.sizeBytes / 2 ** 20)} MiB disk)`,
      steps: [
        {
          op: 'exec',
          node: fault.node,
          what: `fill ${fault.node}'s data disk (${file})`,
          argv: [...layer.tool, 'fill', file],
          undo: ['rm', '-f', file],
        },
      ],
      onRevert: [],
    };
  },
};
