import { requireDataLayer } from './io-error.ts';
import { faultTag, Params } from './params.ts';
import type { FaultKind } from './types.ts';

export type DiskFullParams = Record<string, never>;

/** The fill file of a fault: in the node's size-limited disk, named after the fault (pure). */
export function fillPath(backingDir: string, tag: string): string {
  return `${backingDir}/.${tag}.fill`;
}

/**
 * The node's data disk runs out of space: the size-limited tmpfs under the data dir shrinks to the
 * blocks in use (one remount, after a one-block file the fault owns; no page is allocated, so it is
 * in effect at once whatever the disk's size; a disk that is not a tmpfs is filled with that file
 * instead); revert gives the disk its size back and deletes the file. Writes that need new blocks
 * then fail with ENOSPC (a store may still write into space it had already allocated).
 */
export const diskFull: FaultKind<DiskFullParams> = {
  kind: 'disk-full',
  description:
    "make the edge's size-limited data disk full (its tmpfs shrinks to the space in use; revert restores the size)",
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
          what: `make ${fault.node}'s data disk full (${file})`,
          argv: [...layer.tool, 'full', file],
          undo: [...layer.tool, 'release', file, String(layer.sizeBytes)],
        },
      ],
      onRevert: [],
    };
  },
};
