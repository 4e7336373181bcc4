import { nodeOf, Params } from './params.ts';
import type { FaultKind, FaultStep } from './types.ts';

export interface ClockSkewParams {
  /** Signed whole seconds added to the node's monotonic and boot clocks. */
  offsetSecs: number;
}

/** At most 7 days either way (parseDuration's bound); the kernel also refuses a clock made negative. */
export const maxClockOffsetSecs = 7 * 86_400;

/**
 * The node's clocks jump by `offset`: its stack is restarted inside a new time namespace whose
 * CLOCK_MONOTONIC and CLOCK_BOOTTIME are offset (Linux time namespaces); revert restarts it without.
 * The wall clock (CLOCK_REALTIME) is NOT shifted: Linux has no per-process wall clock, and static Go
 * binaries read it through the vDSO, past any LD_PRELOAD shim; so a stack that orders records by
 * wall-clock time (the wall-clock-order fixture) is not expected to fail under this fault.
 */
export const clockSkew: FaultKind<ClockSkewParams> = {
  kind: 'clock-skew',
  description:
    "restart the node's stack in a time namespace with its monotonic and boot clocks offset (e.g. +300s, -2h); the wall clock is NOT shifted (Linux has no per-process wall clock)",
  needs: ['stack', 'clock'],
  params: { offset: 'signed offset of the monotonic and boot clocks, whole seconds (e.g. +300s, -2h)' },
  parse(raw, fault, ctx) {
    const v = raw['offset'];
    const text = typeof v === 'number' ? `${v}` : typeof v === 'string' ? v.trim() : v;
    const negative = typeof text === 'string' && text.startsWith('-');
    const unsigned = typeof text === 'string' ? text.replace(/^[+-]/, '') : text;
    const ps: Params = new Params({ ...raw, offset: unsigned }, fault);
    const ms = ps.duration('offset', undefined, { min: 1000, max: maxClockOffsetSecs * 1000 });
    if (ms % 1000 !== 0) ps.fail('offset', `must be whole seconds, got ${ms} ms`);
    ps.done();
    nodeOf(fault, ctx);
    return { offsetSecs: negative ? -ms / 1000 : ms / 1000 };
  },
  plan(p, fault) {
    const signed = `${p.offsetSecs > 0 ? '+' : ''}${p.offsetSecs}s`;
    const kill: FaultStep = { op: 'kill-all', node: fault.node, what: `stop ${fault.node}'s stack` };
    return {
      fault,
      summary: `clock-skew ${fault.node} (monotonic/boottime ${signed})`,
      steps: [
        kill,
        {
          op: 'start-skewed',
          node: fault.node,
          what: `start ${fault.node}'s stack with its clocks ${signed}`,
          offsetSecs: p.offsetSecs,
        },
      ],
      // the start-skewed handle kills the skewed processes first; then the stack boots unskewed
      onRevert: [{ op: 'start', node: fault.node, what: `start ${fault.node}'s stack unskewed` }],
    };
  },
};
