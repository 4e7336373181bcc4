import { nodeOf, Params } from './params.ts';
import type { FaultKind, FaultStep } from './types.ts';

export interface RestartNodeParams {
  downForMs: number;
}

/** A node reboot: SIGKILL every process of the node (as a power cut), start its stack after `downFor`. */
export const restartNode: FaultKind<RestartNodeParams> = {
  kind: 'restart-node',
  needs: ['stack'],
  description: 'restart the node: kill all its processes, start its stack again after a pause',
  params: { downFor: 'how long the node stays down (default 0)' },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p = { downForMs: ps.duration('downFor', 0) };
    ps.done();
    nodeOf(fault, ctx);
    return p;
  },
  plan(p, fault) {
    const start: FaultStep = { op: 'start', node: fault.node, what: `start ${fault.node}'s stack` };
    return {
      fault,
      summary: `restart-node ${fault.node} (down ${p.downForMs}ms)`,
      steps: [
        { op: 'kill-all', node: fault.node, what: `kill every process of ${fault.node}` },
        { op: 'after', delayMs: p.downForMs, what: `boot ${fault.node}`, steps: [start] },
      ],
      onRevert: [start],
    };
  },
};
