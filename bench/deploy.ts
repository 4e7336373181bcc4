/**
 * Deploy benchmark of the local target: time from `deploy()` to every edge answering 200 on /healthz,
 * and teardown time, for 10 and 50 edge nodes (reference stack, rpi4 profile).
 *
 *   npx tsx bench/deploy.ts [--sizes 10,50] [--reps 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CleanupRegistry } from '../src/core/cleanup/registry.ts';
import { setLogLevel } from '../src/core/logger.ts';
import { loadStack } from '../src/stack/manifest.ts';
import { LocalTarget } from '../src/targets/local/target.ts';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '10,50' }, reps: { type: 'string', default: '3' } },
});
const sizes = values.sizes.split(',').map(Number);
const reps = Number(values.reps);
setLogLevel('warn');
const dir = mkdtempSync(join(tmpdir(), 'edgechaos-bench-deploy-'));
process.env['EDGECHAOS_STATE_DIR'] = join(dir, 'state');
const stack = await loadStack();
const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, min ${s[0]!.toFixed(0)}, max ${s.at(-1)!.toFixed(0)} (n=${s.length})`;
};
console.log(
  `local target deploy (reference stack ${stack.name}, rpi4 profile, ${(await import('node:os')).cpus().length} CPUs)`,
);
try {
  for (const n of sizes) {
    const up: number[] = [];
    const down: number[] = [];
    for (let r = 0; r < reps; r++) {
      const runId = `bd${process.pid}-${n}-${r}`;
      const reg = CleanupRegistry.open(runId);
      try {
        const t0 = performance.now();
        const dep = await new LocalTarget().deploy(
          stack,
          { edges: Array.from({ length: n }, (_, i) => ({ name: `edge-${i + 1}`, profile: 'rpi4' })) },
          { runId, runDir: join(dir, runId), registry: reg },
        );
        up.push(performance.now() - t0);
        // Verify from the client side: every edge and the hub answer.
        const all = await Promise.all(
          [dep.hubUrl, ...dep.edges.map((e) => e.url)].map((u) => fetch(`${u}/healthz`)),
        );
        if (!all.every((x) => x.status === 200))
          throw new Error('a node is not healthy after deploy returned');
        const t1 = performance.now();
        await dep.teardown();
        down.push(performance.now() - t1);
      } finally {
        await reg.close();
      }
    }
    console.log(
      `${String(n).padStart(3)} edges: healthy in ${stats(up)}; teardown ${stats(down)}${n === 10 ? `; target < 10000 ms: ${Math.max(...up) < 10_000 ? 'met' : 'MISSED'}` : ''}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
