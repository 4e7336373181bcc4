import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnRegistered, type CleanupHandle, type CleanupRegistry } from '../core/cleanup/registry.ts';
import { deadline, waitFor } from '../core/deadline.ts';
import { TargetError } from '../core/errors.ts';
import { freePort } from '../core/net.ts';
import type { ManagedProcess } from '../core/proc.ts';
import { startToxiproxy, type StartedToxiproxy } from '../tools/toxiproxy.ts';
import type { RoleSpec, StackManifest } from './manifest.ts';

interface Running {
  proc: ManagedProcess;
  handle: CleanupHandle;
}

/**
 * One hub and one edge of any stack on 127.0.0.1, the edge's uplink through a real toxiproxy proxy
 * (so the cloud can be cut without touching the hub). No root needed: the conformance suite's
 * `--stack` mode and tests of the stack contract use it; campaigns use a real target.
 */
export class LoopbackStack {
  private edgeProc: Running | undefined;
  private hubProc: Running | undefined;
  private cut: CleanupHandle | undefined;

  private constructor(
    readonly stack: StackManifest,
    readonly dir: string,
    readonly registry: CleanupRegistry,
    readonly toxi: StartedToxiproxy,
    readonly hubPort: number,
    readonly edgePort: number,
    readonly proxyPort: number,
    readonly nodeId: string,
    readonly edgeMode: string,
  ) {}

  get edge(): string {
    return `http://127.0.0.1:${this.edgePort}`;
  }
  get hub(): string {
    return `http://127.0.0.1:${this.hubPort}`;
  }
  get edgeLog(): string | undefined {
    return this.edgeProc?.proc.logFile;
  }

  static async start(
    stack: StackManifest,
    opts: {
      dir: string;
      registry: CleanupRegistry;
      nodeId?: string;
      edgeMode?: string;
      signal?: AbortSignal;
    },
  ): Promise<LoopbackStack> {
    const toxi = await startToxiproxy({
      registry: opts.registry,
      logDir: opts.dir,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const [hubPort, edgePort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const s = new LoopbackStack(
      stack,
      opts.dir,
      opts.registry,
      toxi,
      hubPort,
      edgePort,
      proxyPort,
      opts.nodeId ?? 'edge-1',
      opts.edgeMode ?? 'auto',
    );
    try {
      await s.startHub(opts.signal);
      opts.registry.add('toxiproxy-proxy', 'uplink proxy edge-1', { api: toxi.api, proxy: 'uplink' });
      await toxi.client.createProxy({
        name: 'uplink',
        listen: `127.0.0.1:${proxyPort}`,
        upstream: `127.0.0.1:${hubPort}`,
      });
      await s.startEdge(opts.signal);
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async launch(
    role: 'edge' | 'hub',
    spec: RoleSpec,
    env: Record<string, string>,
    port: number,
    signal?: AbortSignal,
  ): Promise<Running> {
    const { proc, handle } = await spawnRegistered(
      this.registry,
      `${role} process (loopback)`,
      spec.command,
      {
        env: { ...process.env, ...spec.env, ...env },
        logFile: join(this.dir, `${role}.log`),
      },
    );
    const url = `http://127.0.0.1:${port}${spec.health}`;
    try {
      await Promise.race([
        waitFor(
          async () =>
            (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200 ? true : undefined,
          {
            signal: deadline(15_000, `${role} ${url} to answer 200`, signal),
            intervalMs: 5,
          },
        ),
        proc.exited.then((e) => {
          throw new TargetError(
            `${role} exited (${e.code ?? e.signal}) before it was healthy; see ${proc.logFile}`,
          );
        }),
      ]);
    } catch (err) {
      await proc.stop(1000);
      handle.forget();
      throw err;
    }
    return { proc, handle };
  }

  private async startHub(signal?: AbortSignal): Promise<void> {
    const data = join(this.dir, 'hub-data');
    mkdirSync(data, { recursive: true });
    this.hubProc = await this.launch(
      'hub',
      this.stack.hub,
      { HUB_LISTEN: `127.0.0.1:${this.hubPort}`, HUB_DATA_DIR: data },
      this.hubPort,
      signal,
    );
  }

  private async startEdge(signal?: AbortSignal): Promise<void> {
    const data = join(this.dir, 'edge-data');
    mkdirSync(data, { recursive: true });
    this.edgeProc = await this.launch(
      'edge',
      this.stack.edge,
      {
        EDGE_NODE_ID: this.nodeId,
        EDGE_LISTEN: `127.0.0.1:${this.edgePort}`,
        CLOUD_URL: `http://127.0.0.1:${this.proxyPort}`,
        EDGE_MODE: this.edgeMode,
        EDGE_DATA_DIR: data,
      },
      this.edgePort,
      signal,
    );
  }

  /** Disable the uplink proxy: connections to the cloud are refused; the edge keeps serving. */
  async cutCloud(): Promise<void> {
    if (this.cut) return;
    this.cut = this.registry.add('toxiproxy-disabled', 'uplink cut (loopback)', {
      api: this.toxi.api,
      proxy: 'uplink',
    });
    const p = await this.toxi.client.get('uplink');
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
  }

  async healCloud(): Promise<void> {
    const h = this.cut;
    this.cut = undefined;
    await h?.revert();
  }

  async killAndRestartEdge(): Promise<void> {
    const e = this.edgeProc;
    if (e) {
      e.proc.child.kill('SIGKILL');
      await e.proc.exited;
      e.handle.forget();
    }
    await this.startEdge();
  }

  async stop(): Promise<void> {
    for (const r of [this.edgeProc, this.hubProc]) {
      if (!r) continue;
      await r.proc.stop(2000);
      r.handle.forget();
    }
    await this.healCloud().catch(() => undefined);
    await this.toxi.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
