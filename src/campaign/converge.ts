import { readLedger, type LedgerRow } from '../contract/client.ts';
import { sleep } from '../core/deadline.ts';
import type { CampaignDeployment } from '../targets/campaign-port.ts';
import type { RunClock } from './timeline.ts';

export interface Converged {
  ledger: LedgerRow[];
  /** ms from heal until the ledger held every acknowledged write; undefined if it never did. */
  convergeMs: number | undefined;
  /** The same for the native edges' writes alone, when `ackedNative` was given. */
  nativeConvergeMs?: number | undefined;
}

/**
 * After the heal: read the hub's ledger until it holds every acknowledged write (or the deadline),
 * wait for the config publications to land — no longer than the deadline, and not at all once they
 * have — then read the ledger once more after a short settle, so late duplicates show up too.
 */
export async function converge(a: {
  dep: CampaignDeployment;
  clock: RunClock;
  healAt: number;
  timeoutMs: number;
  acked: ReadonlySet<string>;
  /** With emulated edges: the writes the native edges acknowledged (their convergence is scored alone). */
  ackedNative?: ReadonlySet<string>;
  pubWatchers: readonly Promise<void>[];
  signal: AbortSignal;
}): Promise<Converged> {
  const { dep, clock } = a;
  const deadline = a.healAt + a.timeoutMs;
  let ledger: LedgerRow[] = [];
  let convergeMs: number | undefined;
  let nativeConvergeMs: number | undefined;
  for (;;) {
    ledger = await readWholeLedger(dep).catch(() => ledger);
    const have = new Set(ledger.map((r) => r.id));
    if (a.ackedNative && nativeConvergeMs === undefined && [...a.ackedNative].every((id) => have.has(id)))
      nativeConvergeMs = clock.now() - a.healAt;
    if ([...a.acked].every((id) => have.has(id))) {
      convergeMs = clock.now() - a.healAt;
      break;
    }
    if (clock.now() > deadline || a.signal.aborted) break;
    await sleep(200, a.signal).catch(() => undefined);
  }
  // The wait for the publications is cancelled as soon as they are done (a timer left running would
  // keep the run alive until the deadline).
  const waited = new AbortController();
  const stop = (): void => waited.abort();
  a.signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race([
      Promise.all(a.pubWatchers),
      sleep(Math.max(0, deadline - clock.now()), waited.signal).catch(() => undefined),
    ]);
  } finally {
    waited.abort();
    a.signal.removeEventListener('abort', stop);
  }
  if (a.signal.aborted) return { ledger, convergeMs, ...(a.ackedNative ? { nativeConvergeMs } : {}) };
  await sleep(1000, a.signal).catch(() => undefined);
  ledger = await readWholeLedger(dep).catch(() => ledger);
  return { ledger, convergeMs, ...(a.ackedNative ? { nativeConvergeMs } : {}) };
}

export async function readWholeLedger(d: CampaignDeployment): Promise<LedgerRow[]> {
  const all: LedgerRow[] = [];
  for (const e of d.edges) all.push(...(await readLedger(d.hubUrl, e.hubNode ?? e.name)).rows);
  return all;
}
