import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { pidsWithToken } from '../../src/core/proc.ts';
import { listContainers } from '../../src/targets/local/oci/runtime.ts';

/** Everything of run `runId` that could outlive it: containers, cgroups (every hierarchy), mounts, processes. */
export function ociTraces(runId: string): string[] {
  const out = listContainers()
    .filter((c) => c.includes(runId))
    .map((c) => `container ${c}`);
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const dir = `/sys/fs/cgroup/${h}`;
    if (!existsSync(dir)) continue;
    try {
      out.push(
        ...readdirSync(dir)
          .filter((f) => f.includes(runId))
          .map((f) => `cgroup ${h}/${f}`),
      );
    } catch {
      /* not a directory */
    }
  }
  out.push(
    ...readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(runId))
      .map((l) => `mount ${l.split(' ')[4]}`),
  );
  out.push(
    ...readdirSync('/run/netns')
      .filter((f) => f.includes(runId))
      .map((f) => `netns ${f}`),
  );
  out.push(...pidsWithToken(`${runId}.stack`).map((p) => `process ${p}`));
  return out;
}

export { cli } from '../helpers/cli.ts';
