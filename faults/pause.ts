import { nodeOf, Params } from './params.ts';
import type { FaultKind } from './types.ts';

export interface PauseParams {
  method: 'freezer' | 'sigstop';
}

/** Pause the node: freeze its cgroup (every process, default) or SIGSTOP its stack; revert resumes. */
export const pause: FaultKind<PauseParams> = {
  kind: 'pause',
  needs: ['stack'],
  description: "pause the node's processes (cgroup freezer, or SIGSTOP/SIGCONT)",
  params: { method: 'freezer (default: the whole node) or sigstop (the stack process tree)' },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p = { method: ps.oneOf('method', ['freezer', 'sigstop'] as const, 'freezer') };
    ps.done();
    nodeOf(fault, ctx);
    return p;
  },
  plan(p, fault) {
    return {
      fault,
      summary: `pause ${fault.node} (${p.method})`,
      steps: [
        { op: 'freeze', node: fault.node, what: `pause ${fault.node} (${p.method})`, method: p.method },
      ],
      onRevert: [],
    };
  },
};
