import { randomBytes } from 'node:crypto';
import { sleep } from '../core/deadline.ts';
import { call, edgeStatus, readLedger, type LedgerRow } from '../contract/client.ts';

/** Hooks the suite needs for the behaviours that involve breaking things. */
export interface StackControl {
  /** Cut the edge's link to the cloud (the edge keeps serving clients). */
  cutCloud(): Promise<void>;
  healCloud(): Promise<void>;
  /** Kill the edge agent with SIGKILL and start it again on the same data dir; resolves once /healthz is 200. */
  killAndRestartEdge(): Promise<void>;
}

export interface ConformTarget {
  edge: string;
  hub: string;
  control?: StackControl;
  /** How long sync/propagation may take before a behaviour fails (ms). */
  patienceMs?: number;
  /**
   * How long offline-serving keeps writing after the cut (ms, default 10 s): longer than any
   * plausible time for a stack to notice the cloud is gone.
   */
  offlineWindowMs?: number;
}

export interface CaseResult {
  id: string;
  title: string;
  status: 'passed' | 'failed' | 'not-run';
  /** Why it failed (the evidence), or why it did not run. */
  reason?: string;
  ms: number;
}

export interface ConformResult {
  cases: CaseResult[];
  passed: number;
  failed: number;
  notRun: number;
  /** passed / all cases: behaviours not demonstrated count against completeness. */
  passRatio: number;
}

class Failure extends Error {}
function expect(cond: unknown, evidence: string): asserts cond {
  if (!cond) throw new Failure(evidence);
}

interface Ctx {
  t: ConformTarget;
  node: string;
  patience: number;
  offlineWindow: number;
  uid: string;
}

const rec = (ctx: Ctx, n: string | number): { id: string; ts: number; payload: unknown } => ({
  id: `conform-${ctx.uid}-${n}`,
  ts: Date.now(),
  payload: { n, note: 'conformance', pad: 'x'.repeat(32) },
});

async function post(ctx: Ctx, r: { id: string }): Promise<{ status: number; seq: unknown }> {
  const a = await call<{ id: string; seq: unknown }>('POST', `${ctx.t.edge}/v1/records`, r);
  return { status: a.status, seq: a.body?.seq };
}

/** Wait this long after the last id arrived and read the ledger again, so late duplicates are counted. */
const SETTLE_MS = 1000;

/** Poll the ledger until every id is there, settle, read again; return the rows of those ids. */
async function awaitLedger(ctx: Ctx, ids: string[]): Promise<{ rows: LedgerRow[]; missing: string[] }> {
  const want = new Set(ids);
  const until = Date.now() + ctx.patience;
  for (;;) {
    const { rows } = await readLedger(ctx.t.hub, ctx.node).catch(() => ({ rows: [] as LedgerRow[] }));
    const mine = rows.filter((r) => want.has(r.id));
    const missing = ids.filter((id) => !mine.some((r) => r.id === id));
    if (missing.length === 0) {
      // Settle, then read again: a duplicate (a resend after reconnect) can land after the first copy.
      await sleep(SETTLE_MS);
      const again = await readLedger(ctx.t.hub, ctx.node).catch(() => ({ rows }));
      return { rows: again.rows.filter((r) => want.has(r.id)), missing };
    }
    if (Date.now() > until) return { rows: mine, missing };
    await sleep(200);
  }
}

function exactlyOnce(rows: LedgerRow[], ids: string[], missing: string[]): void {
  expect(
    missing.length === 0,
    `${missing.length} acknowledged record(s) never reached the cloud ledger: ${missing.slice(0, 5).join(', ')}`,
  );
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  const dup = ids.filter((id) => (counts.get(id) ?? 0) > 1);
  expect(
    dup.length === 0,
    `${dup.length} record(s) stored more than once in the ledger: ${dup
      .slice(0, 5)
      .map((d) => `${d}×${counts.get(d)}`)
      .join(', ')}`,
  );
}

interface Case {
  id: string;
  title: string;
  needsControl?: boolean;
  run(ctx: Ctx): Promise<void>;
}

export const cases: Case[] = [
  {
    id: 'health',
    title: 'edge and hub answer 200 on /healthz',
    async run(ctx) {
      for (const u of [ctx.t.edge, ctx.t.hub]) {
        const a = await call('GET', `${u}/healthz`);
        expect(a.status === 200, `GET ${u}/healthz answered ${a.status}`);
      }
    },
  },
  {
    id: 'write-ack',
    title: 'POST /v1/records acknowledges with 2xx {id, seq}',
    async run(ctx) {
      const r = rec(ctx, 'ack');
      const a = await call<{ id: string; seq: unknown }>('POST', `${ctx.t.edge}/v1/records`, r);
      expect(a.status >= 200 && a.status < 300, `answered ${a.status}: ${a.text.slice(0, 120)}`);
      expect(a.body?.id === r.id, `acknowledgement names id ${JSON.stringify(a.body?.id)}, expected ${r.id}`);
      expect(Number.isInteger(a.body?.seq), `acknowledgement has no integer seq: ${a.text.slice(0, 120)}`);
    },
  },
  {
    id: 'write-validation',
    title: 'POST /v1/records rejects a record without id or with bad JSON (4xx)',
    async run(ctx) {
      const a = await call('POST', `${ctx.t.edge}/v1/records`, { ts: 1, payload: 1 });
      expect(a.status >= 400 && a.status < 500, `record without id answered ${a.status}`);
      const b = await call('POST', `${ctx.t.edge}/v1/records`, '{not json');
      expect(b.status >= 400 && b.status < 500, `bad JSON answered ${b.status}`);
    },
  },
  {
    id: 'write-idempotent',
    title: 'a retried POST with the same id creates no second record',
    async run(ctx) {
      const r = rec(ctx, 'idem');
      const a = await post(ctx, r);
      const b = await post(ctx, r);
      expect(a.status < 300 && b.status < 300, `answers ${a.status} then ${b.status}`);
      expect(a.seq === b.seq, `the retry got seq ${String(b.seq)}, the first ${String(a.seq)}: two records`);
      const { rows, missing } = await awaitLedger(ctx, [r.id]);
      exactlyOnce(rows, [r.id], missing);
    },
  },
  {
    id: 'read-local',
    title: 'GET /v1/records/{id} serves the record; an unknown id is 404',
    async run(ctx) {
      const r = rec(ctx, 'read');
      await post(ctx, r);
      const a = await call<{ id: string; payload: unknown }>(
        'GET',
        `${ctx.t.edge}/v1/records/${encodeURIComponent(r.id)}`,
      );
      expect(a.status === 200, `answered ${a.status}`);
      expect(
        JSON.stringify(a.body?.payload) === JSON.stringify(r.payload),
        `payload differs: ${JSON.stringify(a.body?.payload)}`,
      );
      const u = await call('GET', `${ctx.t.edge}/v1/records/conform-unknown-${ctx.uid}`);
      expect(u.status === 404, `unknown id answered ${u.status}`);
    },
  },
  {
    id: 'status-fields',
    title: 'GET /v1/status has node, mode, pending, lastSyncAt, configVersion',
    async run(ctx) {
      const s = await edgeStatus(ctx.t.edge);
      expect(typeof s.node === 'string' && s.node.length > 0, `node is ${JSON.stringify(s.node)}`);
      expect(s.mode === 'online' || s.mode === 'offline', `mode is ${JSON.stringify(s.mode)}`);
      expect(Number.isInteger(s.pending) && s.pending >= 0, `pending is ${JSON.stringify(s.pending)}`);
      expect(
        s.lastSyncAt === null || !Number.isNaN(Date.parse(s.lastSyncAt)),
        `lastSyncAt is ${JSON.stringify(s.lastSyncAt)}`,
      );
      expect(Number.isInteger(s.configVersion), `configVersion is ${JSON.stringify(s.configVersion)}`);
    },
  },
  {
    id: 'config-endpoint',
    title: 'GET /v1/config on the edge names the version it holds',
    async run(ctx) {
      const a = await call<{ version: unknown }>('GET', `${ctx.t.edge}/v1/config`);
      expect(
        a.status === 200 && Number.isInteger(a.body?.version),
        `answered ${a.status}: ${a.text.slice(0, 120)}`,
      );
    },
  },
  {
    id: 'sync-exactly-once',
    title: 'acknowledged records reach the cloud ledger exactly once',
    async run(ctx) {
      const recs = Array.from({ length: 20 }, (_, i) => rec(ctx, `sync-${i}`));
      for (const r of recs) expect((await post(ctx, r)).status < 300, `write ${r.id} refused`);
      const ids = recs.map((r) => r.id);
      const { rows, missing } = await awaitLedger(ctx, ids);
      exactlyOnce(rows, ids, missing);
    },
  },
  {
    id: 'ledger-pagination',
    title: 'the hub ledger pages with limit/after: no row lost or repeated across pages',
    async run(ctx) {
      const recs = Array.from({ length: 23 }, (_, i) => rec(ctx, `page-${i}`));
      for (const r of recs) await post(ctx, r);
      await awaitLedger(
        ctx,
        recs.map((r) => r.id),
      );
      const all = await readLedger(ctx.t.hub, ctx.node, 10_000);
      const paged = await readLedger(ctx.t.hub, ctx.node, 7);
      expect(paged.pages >= 4, `limit=7 over ${all.rows.length} rows gave only ${paged.pages} page(s)`);
      const key = (r: LedgerRow): string => `${String(r.row)}:${r.id}`;
      expect(
        paged.rows.length === all.rows.length,
        `paged ${paged.rows.length} rows, one page ${all.rows.length}`,
      );
      expect(
        paged.rows.map(key).join() === all.rows.map(key).join(),
        'paged rows differ from the single page',
      );
    },
  },
  {
    id: 'config-propagation',
    title: 'PUT /v1/config on the hub reaches the online edge',
    async run(ctx) {
      const data = { model: `m-${ctx.uid}`, threshold: 0.5 };
      const a = await call<{ version: number }>('PUT', `${ctx.t.hub}/v1/config`, { data });
      expect(
        a.status === 200 && Number.isInteger(a.body?.version),
        `PUT answered ${a.status}: ${a.text.slice(0, 120)}`,
      );
      const v = a.body!.version;
      const until = Date.now() + ctx.patience;
      let s = await edgeStatus(ctx.t.edge);
      while (s.configVersion < v && Date.now() < until) {
        await sleep(100);
        s = await edgeStatus(ctx.t.edge);
      }
      expect(
        s.configVersion >= v,
        `edge still reports configVersion ${s.configVersion} after ${ctx.patience} ms (published ${v})`,
      );
      const c = await call<{ version: number; data: unknown }>('GET', `${ctx.t.edge}/v1/config`);
      expect(
        JSON.stringify(c.body?.data) === JSON.stringify(data),
        `edge holds ${JSON.stringify(c.body?.data)}`,
      );
    },
  },
  {
    id: 'offline-serving',
    title:
      'with the cloud cut the edge keeps acknowledging and serving writes (for longer than it takes to notice), reports offline, and syncs after heal',
    needsControl: true,
    async run(ctx) {
      const c = ctx.t.control!;
      // Records synced before the cut must stay exactly once after the heal (no blind resend).
      const synced = Array.from({ length: 5 }, (_, i) => rec(ctx, `pre-${i}`));
      for (const r of synced) expect((await post(ctx, r)).status < 300, `write ${r.id} refused`);
      await awaitLedger(
        ctx,
        synced.map((r) => r.id),
      );
      await c.cutCloud();
      const cutAt = Date.now();
      const recs: { id: string; ts: number; payload: unknown }[] = [];
      try {
        // Keep writing and reading for the whole window, and until the edge reports offline: a stack
        // that serves at first and refuses once it has noticed the cut fails here, not in production.
        let s = await edgeStatus(ctx.t.edge);
        const until = cutAt + ctx.offlineWindow + ctx.patience;
        while (Date.now() - cutAt < ctx.offlineWindow || (s.mode !== 'offline' && Date.now() < until)) {
          const r = rec(ctx, `off-${recs.length}`);
          const at = ((Date.now() - cutAt) / 1000).toFixed(1);
          const a = await post(ctx, r);
          expect(
            a.status >= 200 && a.status < 300,
            `write ${r.id} ${at} s after the cloud was cut answered ${a.status}`,
          );
          recs.push(r);
          const g = await call('GET', `${ctx.t.edge}/v1/records/${encodeURIComponent(r.id)}`);
          expect(g.status === 200, `read of ${r.id} ${at} s after the cloud was cut answered ${g.status}`);
          s = await edgeStatus(ctx.t.edge);
          await sleep(200);
        }
        expect(s.mode === 'offline', `status.mode stayed ${s.mode} with the cloud cut`);
        expect(
          s.pending >= recs.length,
          `status.pending is ${s.pending} with ${recs.length} unsynced writes`,
        );
      } finally {
        await c.healCloud();
      }
      const ids = [...synced, ...recs].map((r) => r.id);
      const { rows, missing } = await awaitLedger(ctx, ids);
      exactlyOnce(rows, ids, missing);
    },
  },
  {
    id: 'durable-across-kill',
    title: 'records acknowledged while offline survive kill -9 of the agent and sync exactly once',
    needsControl: true,
    async run(ctx) {
      const c = ctx.t.control!;
      await c.cutCloud();
      const recs = Array.from({ length: 20 }, (_, i) => rec(ctx, `kill-${i}`));
      try {
        for (const r of recs) expect((await post(ctx, r)).status < 300, `write ${r.id} refused`);
        await c.killAndRestartEdge();
        const lost: string[] = [];
        for (const r of recs) {
          const g = await call('GET', `${ctx.t.edge}/v1/records/${encodeURIComponent(r.id)}`);
          if (g.status !== 200) lost.push(r.id);
        }
        expect(
          lost.length === 0,
          `${lost.length} of ${recs.length} acknowledged records gone after kill -9: ${lost.slice(0, 5).join(', ')}`,
        );
      } finally {
        await c.healCloud();
      }
      const ids = recs.map((r) => r.id);
      const { rows, missing } = await awaitLedger(ctx, ids);
      exactlyOnce(rows, ids, missing);
    },
  },
];

/** Run every behaviour of the stack contract; each yields passed / failed (with evidence) / not-run. */
export async function conform(
  t: ConformTarget,
  opts: { only?: string[]; onCase?: (r: CaseResult) => void } = {},
): Promise<ConformResult> {
  const ctx: Ctx = {
    t,
    node: '',
    patience: t.patienceMs ?? 15_000,
    offlineWindow: t.offlineWindowMs ?? 10_000,
    uid: randomBytes(3).toString('hex'),
  };
  try {
    ctx.node = (await edgeStatus(t.edge)).node;
  } catch {
    ctx.node = '';
  }
  const results: CaseResult[] = [];
  for (const c of cases) {
    if (opts.only && !opts.only.includes(c.id)) continue;
    const t0 = Date.now();
    let r: CaseResult;
    if (c.needsControl && !t.control) {
      r = {
        id: c.id,
        title: c.title,
        status: 'not-run',
        reason: 'needs a stack the harness controls (edgechaos conform --stack, or a campaign)',
        ms: 0,
      };
    } else {
      try {
        await c.run(ctx);
        r = { id: c.id, title: c.title, status: 'passed', ms: Date.now() - t0 };
      } catch (err) {
        r = {
          id: c.id,
          title: c.title,
          status: 'failed',
          reason: err instanceof Error ? err.message : String(err),
          ms: Date.now() - t0,
        };
      }
    }
    results.push(r);
    opts.onCase?.(r);
  }
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  const notRun = results.filter((r) => r.status === 'not-run').length;
  return { cases: results, passed, failed, notRun, passRatio: results.length ? passed / results.length : 0 };
}
