import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { conform } from '../../src/conform/suite.ts';

/**
 * Issue 20: an edge answering 100 MB bodies drove the harness to 1.44 GB and a hub returning 100 MB
 * ledger pages to 4.38 GB. The harness's reads from a stack under test are bounded (4 MiB per answer,
 * 32 MiB per ledger page, 256 MiB per ledger: src/contract/client.ts), so the whole conformance suite
 * against a stack whose every answer is 100 MiB must keep the harness's resident memory within a
 * small, stated bound: here 64 MiB above where it started.
 */
describe("the harness's memory against a stack that answers 100 MiB to everything", () => {
  let srv: Server;
  let url = '';
  const chunk = Buffer.alloc(1 << 20, 0x61);
  before(async () => {
    srv = createServer((req, res) => {
      req.resume();
      res.setHeader('content-type', 'application/json');
      let left = 100;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  });
  after(() => {
    srv.closeAllConnections();
    srv.close();
  });

  it('should fail every behaviour and stay within 64 MiB of resident memory above its start', async () => {
    globalThis.gc?.();
    const start = process.memoryUsage().rss;
    let peak = start;
    const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    let passed: string[];
    try {
      const r = await conform({ edge: url, hub: url, patienceMs: 1000 });
      passed = r.cases.filter((c) => c.status === 'passed').map((c) => c.id);
    } finally {
      clearInterval(t);
    }
    const grew = (peak - start) / 2 ** 20;
    assert.ok(grew < 64, `the harness grew by ${grew.toFixed(1)} MiB`);
    assert.deepEqual(passed, [], 'a 100 MiB answer is no answer');
  });
});
