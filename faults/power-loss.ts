import { requireDataLayer } from './io-error.ts';
import { Params } from './params.ts';
import type { FaultKind, FaultStep } from './types.ts';

export interface PowerLossParams {
  downForMs: number;
}

/**
 * A power cut: every process of the node is SIGKILLed at once, then every write to its data dir
 * since the file's last successful fsync/fdatasync is dropped (the ec-fusefs layer keeps them
 * revocable, as LazyFS does), and the node boots again after `downFor`. A stack that acknowledges
 * before fsync passes kill -9 (the page cache survives it) and loses data here.
 */
export const powerLoss: FaultKind<PowerLossParams> = {
  kind: 'power-loss',
  description:
    'power cut: kill every process of the edge and drop every write not yet fsynced under its data dir, boot after a delay',
  needs: ['stack', 'data'],
  params: { downFor: 'how long the node stays off (default 1s)' },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p = { downForMs: ps.duration('downFor', 1000) };
    ps.done();
    requireDataLayer(fault, ctx);
    return p;
  },
  plan(p, fault, ctx) {
    requireDataLayer(fault, ctx);
    const start: FaultStep = { op: 'start', node: fault.node, what: `boot ${fault.node}` };
    return {
      fault,
      summary: `power-loss ${fault.node} (off ${p.downForMs}ms)`,
      steps: [
        { op: 'kill-all', node: fault.node, what: `cut the power of ${fault.node}` },
        {
          op: 'data-ctl',
          node: fault.node,
          what: `drop ${fault.node}'s un-synced writes`,
          words: ['power-loss'],
        },
        { op: 'after', delayMs: p.downForMs, what: `boot ${fault.node}`, steps: [start] },
      ],
      onRevert: [start],
    };
  },
};
