import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CleanupHandle, CleanupRegistry } from '../core/cleanup/registry.ts';
import { spawnRegistered } from '../core/cleanup/registry.ts';
import { sleep } from '../core/deadline.ts';
import { TargetError } from '../core/errors.ts';
import { freePort } from '../core/net.ts';
import type { ManagedProcess } from '../core/proc.ts';
import { httpsGet } from '../control-plane/https-probe.ts';

/** A scheduler (or the migration controller) the harness started; stop() goes through the cleanup registry. */
export class StartedProcess {
  constructor(
    readonly name: string,
    readonly logFile: string,
    readonly proc: ManagedProcess,
    private readonly handle: CleanupHandle,
    /** HTTPS port of /healthz and /metrics (schedulers only). */
    readonly port?: number,
  ) {}
  /** Stop the process group and wait for its exit, then drop the cleanup entry. Idempotent. */
  async stop(): Promise<void> {
    await this.proc.stop();
    await this.handle.revert();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Start `bin` as a kube-scheduler with `config` (a KubeSchedulerConfiguration, written as JSON)
 * on a free loopback port; resolves once /healthz answers 200.
 */
export async function startScheduler(opts: {
  name: string;
  argv0: readonly string[];
  config: Record<string, unknown>;
  kubeconfig: string;
  dir: string;
  registry: CleanupRegistry;
  signal: AbortSignal;
}): Promise<StartedProcess> {
  const cfg = join(opts.dir, `${opts.name}.config.json`);
  writeFileSync(cfg, JSON.stringify(opts.config, null, 2));
  const port = await freePort();
  const logFile = join(opts.dir, 'logs', `${opts.name}.log`);
  const argv = [
    ...opts.argv0,
    `--config=${cfg}`,
    `--authentication-kubeconfig=${opts.kubeconfig}`,
    `--authorization-kubeconfig=${opts.kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(opts.dir, `${opts.name}-pki`)}`,
    '--v=1',
  ];
  const { proc, handle } = await spawnRegistered(opts.registry, `scheduler ${opts.name}`, argv, { logFile });
  const started = new StartedProcess(opts.name, logFile, proc, handle, port);
  try {
    for (;;) {
      if (!proc.running) throw new TargetError(`${opts.name} exited during start-up; log ${logFile}`);
      const ok = await httpsGet(`https://127.0.0.1:${port}/healthz`, { insecure: true, timeoutMs: 1000 })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return started;
      await sleep(100, opts.signal);
    }
  } catch (err) {
    await started.stop().catch(() => undefined);
    throw err;
  }
}

/** Start `edge-scheduler migrate` (the overload-migration controller). */
export async function startMigrator(opts: {
  bin: string;
  kubeconfig: string;
  namespace: string;
  threshold: number;
  target: number;
  sustainMs: number;
  cooldownMs: number;
  maxPerRound: number;
  dir: string;
  registry: CleanupRegistry;
}): Promise<StartedProcess> {
  const logFile = join(opts.dir, 'logs', 'edge-migrate.log');
  const argv = [
    opts.bin,
    'migrate',
    `--kubeconfig=${opts.kubeconfig}`,
    `--namespace=${opts.namespace}`,
    `--threshold=${opts.threshold}`,
    `--target=${opts.target}`,
    `--sustain=${opts.sustainMs}ms`,
    `--cooldown=${opts.cooldownMs}ms`,
    `--max-per-round=${opts.maxPerRound}`,
    '--interval=200ms',
  ];
  const { proc, handle } = await spawnRegistered(opts.registry, 'edge-scheduler migrate', argv, { logFile });
  return new StartedProcess('edge-migrate', logFile, proc, handle);
}
