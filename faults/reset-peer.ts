import { timeoutToxicKind, type TimeoutToxicParams } from './toxic.ts';
import type { FaultKind } from './types.ts';

export type ResetPeerParams = TimeoutToxicParams;

/** Connections on the uplink are reset (TCP RST) after `timeout` (toxiproxy reset_peer). */
export const resetPeer: FaultKind<ResetPeerParams> = timeoutToxicKind({
  kind: 'reset-peer',
  type: 'reset_peer',
  description: "reset the edge's uplink connections (toxiproxy reset_peer)",
  timeoutHelp: 'reset after this long on each connection (default 0: at once)',
  summary: (p, node) => `reset-peer after ${p.timeoutMs}ms on ${node}'s uplink`,
});
