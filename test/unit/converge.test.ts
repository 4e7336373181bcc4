import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { converge } from '../../src/campaign/converge.ts';
import { RunClock } from '../../src/campaign/timeline.ts';
import type { CampaignDeployment } from '../../src/targets/campaign-port.ts';

/**
 * Issue 20: after the heal, the wait for config publications raced a `sleep(deadline - now)` that
 * nothing cancelled, so every standard run idled until the convergence timeout (~39 s) before it
 * could exit, and a graceful Ctrl-C exited 60 s late. The convergence stage must leave no timer of its
 * own behind, whichever way it ends. A hub on loopback serves a ledger that already holds every write.
 */
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('convergence after the heal', () => {
  let hub: Server;
  let url = '';
  before(async () => {
    hub = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ records: [{ row: 1, id: 'w-1', node: 'edge-1' }], next: null }));
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  });
  after(() => hub.close());

  const dep = (): CampaignDeployment =>
    ({ hubUrl: url, edges: [{ name: 'edge-1' }] }) as unknown as CampaignDeployment;

  it('should leave no timer running once converged and the publications landed (no idle wait until the deadline)', async () => {
    const base = timers();
    const clock = new RunClock();
    const r = await converge({
      dep: dep(),
      clock,
      healAt: clock.now(),
      timeoutMs: 600_000,
      acked: new Set(['w-1']),
      pubWatchers: [Promise.resolve()],
      signal: new AbortController().signal,
    });
    assert.notEqual(r.convergeMs, undefined);
    assert.deepEqual(
      r.ledger.map((x) => x.id),
      ['w-1'],
    );
    assert.equal(timers(), base, 'a timer of the convergence stage is still running');
  });

  it('should end at once on Ctrl-C while a publication is still pending, leaving no timer', async () => {
    const base = timers();
    const clock = new RunClock();
    const ctl = new AbortController();
    const pending = new Promise<void>(() => undefined); // a publication that never lands
    const done = converge({
      dep: dep(),
      clock,
      healAt: clock.now(),
      timeoutMs: 600_000,
      acked: new Set(['w-1']),
      pubWatchers: [pending],
      signal: ctl.signal,
    });
    let ended = false;
    void done.then(() => (ended = true));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ended, false, 'waits for the publication while it is pending');
    ctl.abort(new Error('SIGINT'));
    const r = await done;
    assert.notEqual(r.convergeMs, undefined);
    assert.equal(timers(), base, 'a timer of the convergence stage is still running');
  });
});
