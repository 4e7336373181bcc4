import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAgent, httpRequest } from '../../src/load/http-client.ts';

/**
 * Issue 20: every read from a stack under test is bounded. The load runner keeps at most 1 MiB of a
 * response body as text (what a script's checks can see); the rest is counted (k6's data_received)
 * and dropped, so a stack answering huge bodies cannot grow the runner's memory.
 */
describe('load runner response bodies', () => {
  let srv: Server;
  let url = '';
  const mib = Buffer.alloc(1 << 20, 0x62);
  before(async () => {
    srv = createServer((req, res) => {
      req.resume();
      let left = 128;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(mib)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/big`;
  });
  after(() => srv.close());

  it('should keep 1 MiB of a 128 MiB body, count every byte, and not hold the rest', async () => {
    const agent = createAgent(4);
    try {
      const start = process.memoryUsage().rss;
      let peak = start;
      const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const rs = await Promise.all(
        Array.from({ length: 4 }, () => httpRequest(agent, { method: 'GET', url, timeoutMs: 60_000 })),
      ).finally(() => clearInterval(t));
      const grew = (peak - start) / 2 ** 20;
      // 4 × 1 MiB kept (and its string copy) plus buffers in flight; 4 × 128 MiB held would be 512+; the rest is undici and the in-process server.
      assert.ok(grew < 128, `the runner grew by ${grew.toFixed(1)} MiB for 4 answers of 128 MiB`);
      for (const r of rs) {
        assert.equal(r.error, undefined);
        assert.equal(r.status, 200);
        assert.equal(r.bodyBytes, 128 << 20, 'every byte counted');
        assert.equal(Buffer.byteLength(r.body), 1 << 20, 'the text is cut at 1 MiB');
      }
    } finally {
      await agent.close();
    }
  });
});
