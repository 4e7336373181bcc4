import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../src/core/paths.ts';
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

export function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
  onStart?: (pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onStart?.(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal, out, err })));
}
