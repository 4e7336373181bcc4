import { UsageError } from '../src/core/errors.ts';
import { faultTag, nodeOf, Params } from './params.ts';
import type { FaultKind, PlanContext, ResolvedFault } from './types.ts';

export type PartitionBetween = 'edge-cloud' | 'edge-edge' | 'client-edge';
export type PartitionDirection = 'both' | 'in' | 'out';

export interface PartitionParams {
  between: PartitionBetween;
  /** From the node's point of view: `out` drops what it sends, `in` what it receives. */
  direction: PartitionDirection;
  /** edge-edge: only this peer (default: every other edge). */
  peer: string | undefined;
  action: 'drop' | 'reject';
}

/** The addresses on the other side of the cut (pure). */
export function partitionPeers(p: PartitionParams, fault: ResolvedFault, ctx: PlanContext): string[] {
  const self = nodeOf(fault, ctx);
  switch (p.between) {
    case 'edge-cloud':
      return self.role === 'cloud'
        ? ctx.nodes.filter((n) => n.role === 'edge').map((n) => n.address)
        : ctx.nodes.filter((n) => n.role === 'cloud').map((n) => n.address);
    case 'edge-edge':
      return ctx.nodes
        .filter((n) => n.role === 'edge' && n.name !== self.name && (!p.peer || n.name === p.peer))
        .map((n) => n.address);
    case 'client-edge':
      return [...ctx.clientAddresses];
  }
}

/**
 * The checks of a peer selection (between, peer) shared by partition and loss: `peer` only with
 * edge-edge and naming another edge; edge-edge and client-edge only on edges; someone on the other side.
 */
export function checkPeerSelection(
  ps: Params,
  p: Pick<PartitionParams, 'between' | 'direction' | 'peer'>,
  fault: ResolvedFault,
  ctx: PlanContext,
): void {
  const self = nodeOf(fault, ctx);
  if (p.peer !== undefined) {
    if (p.between !== 'edge-edge') ps.fail('peer', 'only applies to between=edge-edge');
    const peer = ctx.nodes.find((n) => n.name === p.peer);
    if (!peer || peer.role !== 'edge' || peer.name === self.name)
      ps.fail('peer', `"${p.peer}" is not another edge node`);
  }
  if (p.between !== 'edge-cloud' && self.role !== 'edge')
    throw new UsageError(
      `fault ${fault.kind} between=${p.between} applies to edge nodes, not ${fault.node}`,
      {
        node: fault.node,
      },
    );
  if (partitionPeers({ ...p, action: 'drop' }, fault, ctx).length === 0)
    ps.fail('between', `${p.between}: nothing on the other side of ${fault.node}`);
}

/** nft script of the partition table (pure): priority -10, before the uplink accounting. */
export function partitionScript(table: string, peers: readonly string[], p: PartitionParams): string {
  const set = `{ ${peers.join(', ')} }`;
  const verdict = p.action === 'reject' ? 'reject' : 'drop';
  // `create` fails if the table exists: a duplicate fault id must not merge into (and later delete) another fault's table.
  const lines = [`create table inet ${table}`, `table inet ${table} {`];
  if (p.direction !== 'out')
    lines.push(
      `  chain in { type filter hook input priority -10; policy accept; ip saddr ${set} ${verdict}; }`,
    );
  if (p.direction !== 'in')
    lines.push(
      `  chain out { type filter hook output priority -10; policy accept; ip daddr ${set} ${verdict}; }`,
    );
  lines.push('}', '');
  return lines.join('\n');
}

/** Network partition: nftables drop rules inside the node's namespace. */
export const partition: FaultKind<PartitionParams> = {
  kind: 'partition',
  needs: ['shell'],
  description: 'cut the node off from the cloud, other edges or the clients (nftables in the node)',
  params: {
    between: 'edge-cloud (default), edge-edge, client-edge',
    direction: 'both (default), in, out — seen from the node',
    peer: 'edge-edge only: the one peer to cut (default: all other edges)',
    action: 'drop (default; packets vanish) or reject',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p: PartitionParams = {
      between: ps.oneOf('between', ['edge-cloud', 'edge-edge', 'client-edge'] as const, 'edge-cloud'),
      direction: ps.oneOf('direction', ['both', 'in', 'out'] as const, 'both'),
      peer: ps.string('peer'),
      action: ps.oneOf('action', ['drop', 'reject'] as const, 'drop'),
    };
    ps.done();
    checkPeerSelection(ps, p, fault, ctx);
    return p;
  },
  plan(p, fault, ctx) {
    const table = faultTag(fault);
    const peers = partitionPeers(p, fault, ctx);
    return {
      fault,
      summary: `partition ${fault.node} ${p.between} (${p.direction}, ${p.action})`,
      steps: [
        {
          op: 'exec',
          node: fault.node,
          what: `partition ${fault.node} ${p.between} ${p.direction} (nft table ${table})`,
          argv: ['nft', '-f', '-'],
          input: partitionScript(table, peers, p),
          undo: ['nft', 'delete', 'table', 'inet', table],
        },
      ],
      onRevert: [],
    };
  },
};
