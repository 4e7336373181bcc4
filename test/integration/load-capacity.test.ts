import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCapacity, httpProbe } from '../../src/load/capacity.ts';
import { startHttpServer } from '../helpers/http-server.ts';

describe('capacity search against a loopback server', () => {
  it('should find the rate at which a 150 req/s token-bucket server starts refusing', async () => {
    // The server admits 150 requests/s (bucket of 15) and answers 503 beyond: its capacity under an
    // error SLO of 1 % is 150/s whatever the machine's speed.
    let tokens = 15;
    let last = performance.now();
    await using srv = await startHttpServer((req, res) => {
      const now = performance.now();
      tokens = Math.min(15, tokens + ((now - last) / 1000) * 150);
      last = now;
      req.resume();
      const ok = tokens >= 1;
      if (ok) tokens -= 1;
      req.on('end', () => res.writeHead(ok ? 200 : 503).end());
    });
    const r = await findCapacity({
      slo: { p99Ms: 2000, maxErrorRate: 0.01 },
      startRate: 40,
      maxRate: 2000,
      stepMs: 1500,
      probe: httpProbe(`${srv.url}/v1/status`),
    });
    assert.equal(r.limitedBy, 'slo', JSON.stringify(r.steps));
    assert.ok(r.capacity >= 100 && r.capacity <= 160, `capacity ${r.capacity}: ${JSON.stringify(r.steps)}`);
    assert.ok(r.steps.some((s) => !s.ok && s.breach === 'errors' && s.rate > 150));
  });
});
