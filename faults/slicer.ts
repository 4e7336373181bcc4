import { Params } from './params.ts';
import { toxicCommon, toxicPlan, type Stream } from './toxic.ts';
import type { FaultKind } from './types.ts';

export interface SlicerParams {
  averageSize: number;
  sizeVariation: number;
  delayUs: number;
  stream: Stream;
  toxicity: number;
}

/** Uplink data sliced into small packets with a delay between them (toxiproxy slicer). */
export const slicer: FaultKind<SlicerParams> = {
  kind: 'slicer',
  needs: ['uplink'],
  description: "slice the edge's uplink data into small delayed chunks (toxiproxy slicer)",
  params: {
    averageSize: 'average chunk size in bytes (default 64)',
    sizeVariation: '± variation in bytes, < averageSize (default 32)',
    delay: 'delay between chunks, e.g. 10ms (default 10ms)',
    stream: 'downstream (default), upstream, both',
    toxicity: 'share of connections affected (default 1)',
  },
  parse(raw, fault) {
    const ps: Params = new Params(raw, fault);
    const averageSize = ps.number('averageSize', 64, { min: 1, int: true });
    const sizeVariation = ps.number('sizeVariation', Math.min(32, averageSize - 1), { min: 0, int: true });
    const delayMs = ps.duration('delay', 10);
    const p = {
      averageSize,
      sizeVariation,
      delayUs: Math.round(delayMs * 1000),
      ...toxicCommon(ps, 'downstream'),
    };
    ps.done();
    if (sizeVariation >= averageSize)
      ps.fail('sizeVariation', `must be smaller than averageSize (${averageSize})`);
    return p;
  },
  plan(p, fault, ctx) {
    return toxicPlan(
      fault,
      ctx,
      'slicer',
      p,
      { average_size: p.averageSize, size_variation: p.sizeVariation, delay: p.delayUs },
      `slicer ${p.averageSize}±${p.sizeVariation} B every ${p.delayUs}µs on ${fault.node}'s uplink`,
    );
  },
};
