import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  call,
  MAX_ANSWER_BYTES,
  putConfig,
  readLedger,
  StackAnswerError,
} from '../../src/contract/client.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const MiB = 1024 * 1024;

/** Streams `total` bytes of JSON-ish filler in 64 KiB chunks, without a Content-Length; counts what it sent. */
function hugeBody(total: number, sent: { bytes: number }) {
  return (_req: unknown, res: import('node:http').ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (sent.bytes < total) {
        sent.bytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => undefined);
    pump();
  };
}

describe('contract client bounds', () => {
  it('should stop reading an edge answer over 4 MiB, naming method, URL and limit', async () => {
    const sent = { bytes: 0 };
    await using srv = await startHttpServer(hugeBody(100 * MiB, sent));
    await assert.rejects(call('GET', `${srv.url}/v1/status`), (e: unknown) => {
      assert.ok(e instanceof StackAnswerError, String(e));
      assert.match(e.message, /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/status: answer over the 4 MiB limit/);
      return true;
    });
    // the harness stopped reading: far less than the 100 MiB the stack offered went over the wire
    assert.ok(sent.bytes < 100 * MiB, `server sent ${sent.bytes} bytes`);
  });

  it('should refuse a declared Content-Length over the limit without reading it', async () => {
    await using srv = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(MAX_ANSWER_BYTES + 1) });
      res.on('error', () => undefined);
      res.write('x');
    });
    await assert.rejects(
      call('GET', `${srv.url}/healthz`),
      /answer of 4194305 bytes is over the 4 MiB limit/,
    );
  });

  it('should time out a body that trickles, not only the headers', async () => {
    await using srv = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
    });
    await assert.rejects(call('GET', `${srv.url}/v1/status`, undefined, 300), (e: unknown) => {
      assert.ok(e instanceof StackAnswerError, String(e));
      assert.match(e.message, /no complete answer within 300 ms/);
      return true;
    });
  });

  it('should bound a ledger page and a whole ledger read', async () => {
    const sent = { bytes: 0 };
    await using huge = await startHttpServer(hugeBody(100 * MiB, sent));
    await assert.rejects(readLedger(huge.url, 'edge-1'), /v1\/records\?.*answer over the 32 MiB limit/);
    // endless small pages: the total bound ends the read
    let n = 0;
    await using endless = await startHttpServer((_req, res) => {
      const records = Array.from({ length: 100 }, (_, i) => ({
        node: 'edge-1',
        id: `r${n}-${i}`,
        ts: 1,
        payload: 'x'.repeat(500),
        row: n,
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ records, next: ++n }));
    });
    await assert.rejects(
      readLedger(endless.url, 'edge-1', 100, { totalBytes: 1 * MiB }),
      /ledger over the 1 MiB limit; stopped reading/,
    );
  });

  it('should read a normal answer and ledger in full', async () => {
    await using srv = await startHttpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url?.startsWith('/v1/records'))
        res.end(
          JSON.stringify({ records: [{ node: 'edge-1', id: 'a', ts: 1, payload: 1, row: 1 }], next: null }),
        );
      else res.end('{"version":3}');
    });
    assert.deepEqual((await call('GET', `${srv.url}/x`)).body, { version: 3 });
    assert.equal((await readLedger(srv.url, 'edge-1')).rows.length, 1);
    assert.deepEqual(await putConfig(srv.url, {}), { version: 3 });
  });

  it('should refuse a config answer without a version instead of reporting "v undefined"', async () => {
    await using srv = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    await assert.rejects(putConfig(srv.url, {}), /answered 200 without a whole-number "version"/);
  });
});
