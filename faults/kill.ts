import { nodeOf, Params } from './params.ts';
import type { FaultKind, FaultStep } from './types.ts';

export interface KillParams {
  signal: 'SIGKILL' | 'SIGTERM' | 'SIGINT';
  restartAfterMs: number | undefined;
  /** Start it again on revert if it is still down (default true). */
  restartOnRevert: boolean;
}

/** Kill the node's stack process (SIGKILL by default); optionally start it again after a delay. */
export const kill: FaultKind<KillParams> = {
  kind: 'kill',
  needs: ['stack'],
  description: "kill the node's stack process (kill -9 by default), optionally restart it after a delay",
  params: {
    signal: 'SIGKILL (default), SIGTERM, SIGINT',
    restartAfter: 'start it again after this long (default: not until the fault is reverted)',
    restart: 'start it again on revert if still down (default true)',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p: KillParams = {
      signal: ps.oneOf('signal', ['SIGKILL', 'SIGTERM', 'SIGINT'] as const, 'SIGKILL'),
      restartAfterMs: ps.has('restartAfter') ? ps.duration('restartAfter') : undefined,
      restartOnRevert: ps.bool('restart', true),
    };
    ps.done();
    nodeOf(fault, ctx);
    return p;
  },
  plan(p, fault) {
    const steps: FaultStep[] = [
      { op: 'signal', node: fault.node, what: `${p.signal} ${fault.node}'s stack`, signal: p.signal },
    ];
    if (p.restartAfterMs !== undefined)
      steps.push({
        op: 'after',
        delayMs: p.restartAfterMs,
        what: `restart ${fault.node}'s stack`,
        steps: [{ op: 'start', node: fault.node, what: `start ${fault.node}'s stack` }],
      });
    return {
      fault,
      summary: `kill ${fault.node} (${p.signal})${p.restartAfterMs !== undefined ? `, restart after ${p.restartAfterMs}ms` : ''}`,
      steps,
      onRevert: p.restartOnRevert
        ? [{ op: 'start', node: fault.node, what: `start ${fault.node}'s stack` }]
        : [],
    };
  },
};
