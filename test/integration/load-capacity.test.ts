import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { runCapacity } from '../../src/load/capacity.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { tempDir } from '../helpers/temp.ts';

describe('capacity search against a loopback server', () => {
  it('should find, in its own process, the rate at which a 150 req/s token-bucket server starts refusing', async () => {
    // The server admits 150 requests/s with a burst of 75 (half a second: a runner delayed by the
    // machine catches up in bursts) and answers 503 beyond. Its capacity under a 1 % error SLO is
    // 150/s whatever the machine's speed; a 3 s step at 200/s offers 600 for 525 tokens.
    let tokens = 75;
    let last = performance.now();
    await using srv = await startHttpServer((req, res) => {
      const now = performance.now();
      tokens = Math.min(75, tokens + ((now - last) / 1000) * 150);
      last = now;
      req.resume();
      const ok = tokens >= 1;
      if (ok) tokens -= 1;
      req.on('end', () => res.writeHead(ok ? 200 : 503).end());
    });
    using dir = tempDir('capacity');
    await using reg = CleanupRegistry.open('test-capacity', dir.path);
    const r = await runCapacity(
      {
        url: `${srv.url}/v1/status`,
        slo: { p99Ms: 5000, maxErrorRate: 0.01 },
        startRate: 50,
        maxRate: 2000,
        stepMs: 3000,
      },
      { outDir: join(dir.path, 'cap'), registry: reg },
    );
    const steps = JSON.stringify(r.steps);
    assert.equal(r.limitedBy, 'slo', steps);
    assert.ok(r.capacity >= 90 && r.capacity <= 190, `capacity ${r.capacity}: ${steps}`);
    assert.ok(
      r.steps.some((s) => !s.ok && s.breach === 'errors' && s.rate >= 175),
      steps,
    );
    assert.equal(reg.pending().length, 0, 'the search process is forgotten after it exited');
  });
});
