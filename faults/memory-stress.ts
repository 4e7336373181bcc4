import { parseBytes } from '../src/core/boards.ts';
import { Params, requireEdge } from './params.ts';
import type { FaultKind } from './types.ts';

export interface MemoryStressParams {
  bytes: number;
  workers: number;
}

export function memoryStressArgv(p: MemoryStressParams, durationMs: number | undefined): string[] {
  // stress-ng shares --vm-bytes among the --vm workers: it is the total.
  const total = Math.max(4096 * p.workers, Math.floor(p.bytes));
  const argv = ['stress-ng', '--vm', String(p.workers), '--vm-bytes', `${total}`, '--vm-keep'];
  if (durationMs !== undefined) argv.push('--timeout', `${Math.ceil(durationMs / 1000) + 30}s`);
  return argv;
}

/**
 * Memory hogs inside the node's cgroup, up to or over the board's memory limit. The OOM killer then
 * picks a victim in the cgroup — possibly the stack: a legitimate outcome the checks must see.
 */
export const memoryStress: FaultKind<MemoryStressParams> = {
  kind: 'memory-stress',
  needs: ['shell'],
  description: "allocate memory in the node's cgroup (stress-ng --vm), up to or over its limit",
  params: {
    size: 'bytes (256MiB) or a share of the node limit (90%, 120%) (default 90%)',
    workers: 'stress-ng vm workers sharing the size (default 1)',
  },
  parse(raw, fault, ctx) {
    const ps: Params = new Params(raw, fault);
    const node = requireEdge(fault, ctx);
    const workers = ps.number('workers', 1, { min: 1, max: 16, int: true });
    const rawSize = ps.value('size');
    if (rawSize !== undefined && typeof rawSize !== 'string' && typeof rawSize !== 'number')
      ps.fail('size', `must be bytes or a percentage, got ${typeof rawSize}`);
    const size = rawSize === undefined || rawSize === '' ? '90%' : String(rawSize);
    ps.done();
    let bytes: number;
    const pct = /^(\d+(?:\.\d+)?)%$/.exec(size.trim());
    if (pct) {
      const limit = node.limits?.memoryBytes;
      if (!limit) ps.fail('size', `${fault.node} has no memory limit, give bytes instead of a percentage`);
      const share = Number(pct[1]);
      if (share <= 0 || share > 400) ps.fail('size', `must be between 0% and 400% of the limit, got ${size}`);
      bytes = Math.floor((limit * share) / 100);
    } else {
      try {
        bytes = parseBytes(size, 'size');
      } catch (e) {
        ps.fail('size', (e as Error).message);
      }
    }
    return { bytes, workers };
  },
  plan(p, fault) {
    return {
      fault,
      summary: `memory-stress ${Math.round(p.bytes / 2 ** 20)} MiB on ${fault.node}`,
      steps: [
        {
          op: 'spawn',
          node: fault.node,
          what: `memory-stress ${p.bytes} B on ${fault.node}`,
          argv: memoryStressArgv(p, fault.durationMs),
          inResourceGroup: true,
        },
      ],
      onRevert: [],
    };
  },
};
