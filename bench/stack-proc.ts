/** Shared pieces of bench/stack.ts: the stack's binaries, a scratch dir cleaned on exit, processes, HTTP and the result rows. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { freePort } from '../src/core/net.ts';

export const execFileP = promisify(execFile);

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const stackDir = join(root, 'stack');
export const dist = join(stackDir, 'dist');
export const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
export const edgeBin = join(dist, 'bin', `linux-${arch}`, 'edge-agent');
export const hubBin = join(dist, 'bin', `linux-${arch}`, 'cloud-hub');

export const work = mkdtempSync(join(tmpdir(), 'edgechaos-bench-'));
export const children = new Set<ChildProcess>();

export function cleanup(): void {
  for (const c of children) {
    if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

// ---------- small helpers ----------

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

export function start(bin: string, env: Record<string, string>): Proc {
  const child = spawn(bin, [], { env: { ...env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<void>((res) =>
    child.once('exit', (code, sig) => {
      children.delete(child);
      if (code !== 0 && code !== null && sig === null)
        process.stderr.write(`${bin} exited ${code}: ${stderr}\n`);
      res();
    }),
  );
  return { child, exited };
}

export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.pid !== undefined && p.child.exitCode === null && p.child.signalCode === null) {
    try {
      process.kill(-p.child.pid, signal);
    } catch {
      /* already gone */
    }
  }
  await p.exited;
}

export const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });
export const noKeepAlive = new http.Agent({ keepAlive: false });

export function request(
  method: string,
  url: string,
  body?: string,
  agent: http.Agent = keepAlive,
): Promise<{ status: number; text: string }> {
  return new Promise((res, rej) => {
    const req = http.request(
      url,
      { method, agent, headers: body ? { 'content-type': 'application/json' } : {} },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => res({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        r.on('error', rej);
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

export async function waitHealthy(url: string, p: Proc, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (p.child.exitCode !== null) throw new Error(`${url}: process exited before /healthz answered`);
    try {
      if ((await request('GET', `${url}/healthz`, undefined, noKeepAlive)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await sleep(1);
  }
  throw new Error(`${url}/healthz not 200 after ${timeoutMs} ms`);
}

// ---------- image sizes: parse the docker-archive ----------

export async function coldStarts(
  bin: string,
  envFor: (port: number, dir: string) => Record<string, string>,
  n = 20,
) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const dir = mkdtempSync(join(work, 'cold-'));
    const t0 = process.hrtime.bigint();
    const p = start(bin, envFor(port, dir));
    await waitHealthy(`http://127.0.0.1:${port}`, p);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await stop(p);
  }
  return median(times);
}

export async function buildPeer(): Promise<string> {
  const dir = mkdtempSync(join(work, 'peer-'));
  writeFileSync(join(dir, 'go.mod'), 'module hello\n\ngo 1.22\n');
  writeFileSync(
    join(dir, 'main.go'),
    `package main

import (
\t"net/http"
\t"os"
)

func main() {
\thttp.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
\tif err := http.ListenAndServe(os.Getenv("LISTEN"), nil); err != nil {
\t\tpanic(err)
\t}
}
`,
  );
  const out = join(dir, 'hello');
  await execFileP('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', out, '.'], {
    cwd: dir,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
  return out;
}

export function vmRSS(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

export async function status(edge: string): Promise<{ pending: number; mode: string }> {
  return JSON.parse((await request('GET', `${edge}/v1/status`)).text) as { pending: number; mode: string };
}

export const record = (id: string, i: number) =>
  JSON.stringify({ id, ts: Date.now(), payload: { temp: 21.5, seq: i, note: 'hello world' } });

/** Acknowledged writes per second with `conc` concurrent writers for `ms`. */
export async function sustainedWrites(
  edge: string,
  conc: number,
  ms: number,
): Promise<{ rate: number; errors: number; acked: number }> {
  let acked = 0;
  let errors = 0;
  let next = 0;
  const end = Date.now() + ms;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: conc }, async () => {
      while (Date.now() < end) {
        const i = next++;
        try {
          const r = await request('POST', `${edge}/v1/records`, record(`w-${i}`, i));
          if (r.status === 201) acked++;
          else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { rate: acked / (Number(process.hrtime.bigint() - t0) / 1e9), errors, acked };
}

export async function writeMany(edge: string, prefix: string, n: number, conc: number): Promise<number> {
  let next = 0;
  let acked = 0;
  await Promise.all(
    Array.from({ length: conc }, async () => {
      for (let i = next++; i < n; i = next++) {
        const r = await request('POST', `${edge}/v1/records`, record(`${prefix}-${i}`, i));
        if (r.status !== 201) throw new Error(`write ${prefix}-${i}: ${r.status} ${r.text}`);
        acked++;
      }
    }),
  );
  return acked;
}

/** Ledger rows of node whose id starts with prefix, and how many distinct ids they hold. */
export async function ledgerRows(
  hub: string,
  node: string,
  prefix: string,
): Promise<{ rows: number; distinct: number }> {
  const ids = new Set<string>();
  let rows = 0;
  let after: string | null = null;
  for (;;) {
    const q = new URLSearchParams({ node, limit: '10000' });
    if (after !== null) q.set('after', after);
    const page = JSON.parse((await request('GET', `${hub}/v1/records?${q.toString()}`)).text) as {
      records: { id: string }[];
      next: string | null;
    };
    for (const r of page.records) {
      if (!r.id.startsWith(prefix)) continue;
      ids.add(r.id);
      rows++;
    }
    if (page.next === null) return { rows, distinct: ids.size };
    after = page.next;
  }
}

// ---------- main ----------

export const MB = 1_000_000; // decimal megabytes, as the budgets are stated
export const fmtMB = (b: number) => `${(b / MB).toFixed(2)} MB`;
export const rows: [string, string, string, string][] = [];
export const row = (metric: string, value: string, ref: string, ratio: string) => {
  rows.push([metric, value, ref, ratio]);
  process.stderr.write(`  ${metric}: ${value}\n`);
};
