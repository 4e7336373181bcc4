import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { conform } from '../../src/conform/suite.ts';
import { MAX_LEDGER_PAGE_BYTES } from '../../src/contract/client.ts';

/**
 * Issue 20: an edge answering 100 MB bodies drove the harness to 1.44 GB and a hub returning 100 MB
 * ledger pages to 4.38 GB. The harness's reads from a stack under test are bounded (4 MiB per answer,
 * 32 MiB per ledger page, 256 MiB per ledger: src/contract/client.ts), so the whole conformance suite
 * against a stack whose every answer is 100 MiB keeps the harness's resident memory within what those
 * limits allow: the largest single read (a ledger page) held twice (bytes and text) plus 32 MiB for
 * the runtime — 96 MiB above where it started. The hostile stack runs in its own process, so only the
 * harness is measured; one small answer first loads the HTTP client's code.
 */
const bound = (2 * MAX_LEDGER_PAGE_BYTES) / 2 ** 20 + 32;

const hostile = `
const http = require('node:http');
const mib = Buffer.alloc(1 << 20, 0x61);
const srv = http.createServer((req, res) => {
  req.resume();
  res.setHeader('content-type', 'application/json');
  if (req.url === '/warm') return res.end('{}');
  let left = 100;
  const pump = () => {
    while (left > 0) { left--; if (!res.write(mib)) return void res.once('drain', pump); }
    res.end();
  };
  res.on('error', () => {});
  pump();
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

describe("the harness's memory against a stack that answers 100 MiB to everything", () => {
  let child: ChildProcess;
  let url = '';
  before(async () => {
    child = spawn(process.execPath, ['-e', hostile], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [port] = (await once(child.stdout!, 'data')) as [Buffer];
    url = `http://127.0.0.1:${port.toString().trim()}`;
  });
  after(() => child.kill('SIGKILL'));

  it(`should fail every behaviour and stay within ${bound} MiB of resident memory above its start`, async () => {
    await (await fetch(`${url}/warm`)).text();
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
    assert.ok(grew < bound, `the harness grew by ${grew.toFixed(1)} MiB (bound ${bound} MiB)`);
    assert.deepEqual(passed, [], 'a 100 MiB answer is no answer');
  });
});
