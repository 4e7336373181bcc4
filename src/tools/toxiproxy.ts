import { join } from 'node:path';
import toxiproxyClient from 'toxiproxy-node-client';
import { spawnRegistered, type CleanupHandle, type CleanupRegistry } from '../core/cleanup/registry.ts';
import { deadline, waitFor } from '../core/deadline.ts';
import { TargetError } from '../core/errors.ts';
import { freePort } from '../core/net.ts';
import type { ManagedProcess } from '../core/proc.ts';
import { requireTool } from './find.ts';

const { Toxiproxy } = toxiproxyClient;
export type ToxiproxyClient = InstanceType<typeof Toxiproxy>;

export interface StartToxiproxyOptions {
  registry: CleanupRegistry;
  /** Where the server's log goes. */
  logDir: string;
  host?: string;
  port?: number;
  /** Wrap the command (e.g. ['ip', 'netns', 'exec', ns]) to run it elsewhere. */
  prefix?: string[];
  signal?: AbortSignal;
}

/** A running toxiproxy server; disposing it stops the server (and so removes all its proxies). */
export class StartedToxiproxy {
  constructor(
    readonly api: string,
    readonly client: ToxiproxyClient,
    private readonly proc: ManagedProcess,
    private readonly handle: CleanupHandle,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  async stop(): Promise<void> {
    await this.proc.stop(2000);
    this.handle.forget();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Start the pinned toxiproxy server on loopback (or in a namespace via `prefix`), registered for cleanup. */
export async function startToxiproxy(opts: StartToxiproxyOptions): Promise<StartedToxiproxy> {
  const bin = requireTool('toxiproxy-server');
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const argv = [...(opts.prefix ?? []), bin, '-host', host, '-port', String(port)];
  const { proc, handle } = await spawnRegistered(opts.registry, `toxiproxy-server ${host}:${port}`, argv, {
    logFile: join(opts.logDir, `toxiproxy-${port}.log`),
  });
  const api = `http://${host}:${port}`;
  try {
    await Promise.race([
      waitFor(async () => ((await fetch(`${api}/version`)).ok ? true : undefined), {
        signal: deadline(10_000, `toxiproxy at ${api} to answer`, opts.signal),
      }),
      proc.exited.then((e) => {
        throw new TargetError(
          `toxiproxy-server exited (code ${e.code}) before answering; see ${proc.logFile}`,
        );
      }),
    ]);
  } catch (err) {
    await handle.revert();
    throw err;
  }
  return new StartedToxiproxy(api, new Toxiproxy(api), proc, handle);
}
