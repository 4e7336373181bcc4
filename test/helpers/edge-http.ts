import assert from 'node:assert/strict';
import { applyFault } from '../../faults/apply.ts';
import type { FaultSurface, HasFaultSurface } from '../../faults/capabilities.ts';
import type { CleanupRegistry } from '../../src/core/cleanup/registry.ts';

/** Records written to and read from an edge agent over HTTP, as the fault tests do. */

let seq = 0;

/** A record body with a fresh id (`<prefix><pid>-<n>`) and `size` bytes of padding. */
export const rec = (size = 64, prefix = 't'): string =>
  JSON.stringify({
    id: `${prefix}${process.pid}-${++seq}`,
    ts: Date.now(),
    payload: { pad: 'x'.repeat(size) },
  });

/** POST a record: its status (0 when the request failed) and id. */
export async function post(url: string, body: string): Promise<{ status: number; id: string }> {
  const id = (JSON.parse(body) as { id: string }).id;
  try {
    const r = await fetch(`${url}/v1/records`, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    await r.text();
    return { status: r.status, id };
  } catch {
    return { status: 0, id };
  }
}

/** GET a record's status. */
export const get = async (url: string, id: string): Promise<number> =>
  (await fetch(`${url}/v1/records/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(5000) })).status;

/** Whether the agent's health answers 200 within 500 ms. */
export async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(500) })).status === 200;
  } catch {
    return false;
  }
}

/**
 * Write 4 KiB records until `want` are refused (or 3000 tries): an agent on a full disk still
 * stores into pages it already has (bbolt reuses them) until it needs new ones. Acknowledged ids go
 * to `acked`; returns how many were refused.
 */
export async function writeUntilRefused(url: string, acked: string[], want = 5): Promise<number> {
  let refused = 0;
  for (let i = 0; i < 3000 && refused < want; i++) {
    const r = await post(url, rec(4096));
    if (r.status === 201) acked.push(r.id);
    else refused++;
  }
  return refused;
}

/**
 * io-latency op=fsync delay=300ms on `node`: a write to the agent at `url` answers 201 and waits at
 * least 300 ms for its slowed fsync; `more` checks more while it is in effect; reverted in any case.
 */
export async function withSlowFsync(
  dep: FaultSurface | HasFaultSurface,
  node: string,
  registry: CleanupRegistry,
  url: string,
  more: () => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const l = await applyFault(
    dep,
    { kind: 'io-latency', node, params: { op: 'fsync', delay: '300ms' } },
    registry,
  );
  try {
    const t0 = performance.now();
    assert.equal((await post(url, rec())).status, 201);
    assert.ok(performance.now() - t0 >= 300, 'the write waited for its slowed fsync');
    await more();
  } finally {
    await l.revert();
  }
}
