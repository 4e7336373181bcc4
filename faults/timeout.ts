import { timeoutToxicKind, type TimeoutToxicParams } from './toxic.ts';
import type { FaultKind } from './types.ts';

export type TimeoutParams = TimeoutToxicParams;

/** Uplink data stops flowing; the connection is closed after `timeout` (0: never) (toxiproxy timeout). */
export const timeout: FaultKind<TimeoutParams> = timeoutToxicKind({
  kind: 'timeout',
  type: 'timeout',
  description: "black-hole the edge's uplink connections, closing them after a timeout (toxiproxy timeout)",
  timeoutHelp: 'close each connection after this long (default 0: hold it open, data dropped)',
  summary: (p, node) => `timeout ${p.timeoutMs}ms on ${node}'s uplink`,
});
