import { Params, requireEdge } from './params.ts';
import type { FaultKind } from './types.ts';

export interface CpuStressParams {
  workers: number;
  /** % busy per worker */
  load: number;
}

/** stress-ng argv (pure); a self-timeout backs up the revert when the fault has a duration. */
export function cpuStressArgv(p: CpuStressParams, durationMs: number | undefined): string[] {
  const argv = [
    'stress-ng',
    '--cpu',
    String(p.workers),
    '--cpu-load',
    String(p.load),
    '--cpu-method',
    'int64',
  ];
  if (durationMs !== undefined) argv.push('--timeout', `${Math.ceil(durationMs / 1000) + 30}s`);
  return argv;
}

/** CPU hogs inside the node's cgroup: they compete with the stack under the board's CPU quota. */
export const cpuStress: FaultKind<CpuStressParams> = {
  kind: 'cpu-stress',
  needs: ['shell'],
  description: "busy CPU workers in the node's cgroup (stress-ng), competing with the stack for its quota",
  params: {
    workers: 'number of busy workers (default 2)',
    load: '% busy per worker, 1..100 (default 100)',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const p = {
      workers: ps.number('workers', 2, { min: 1, max: 64, int: true }),
      load: ps.number('load', 100, { min: 1, max: 100, int: true }),
    };
    ps.done();
    requireEdge(fault, ctx);
    return p;
  },
  plan(p, fault) {
    return {
      fault,
      summary: `cpu-stress ${p.workers}×${p.load}% on ${fault.node}`,
      steps: [
        {
          op: 'spawn',
          node: fault.node,
          what: `cpu-stress ${p.workers} workers on ${fault.node}`,
          argv: cpuStressArgv(p, fault.durationMs),
          inResourceGroup: true,
        },
      ],
      onRevert: [],
    };
  },
};
