import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { runLoad } from '../../src/load/run-load.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { tempDir } from '../helpers/temp.ts';

describe('load runner (TypeScript load script, real HTTP)', () => {
  it('should run a tiny .ts script against a local server and parse its summary', async () => {
    using dir = tempDir('load');
    let writesSeen = 0;
    await using srv = await startHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') writesSeen++;
        // every 5th write is refused, so outcomes are mixed
        const refuse = req.method === 'POST' && writesSeen % 5 === 0;
        res.writeHead(refuse ? 503 : req.method === 'POST' ? 201 : 200).end('{}');
      });
    });
    const script = join(dir.path, 'tiny.ts');
    writeFileSync(
      script,
      `import { defineLoad } from '${join(repoRoot, 'src/load/types.ts')}';
const target: string = process.env.NONE ?? '';
export default defineLoad({
  scenarios: {
    writes: { executor: 'constant-arrival-rate', rate: 50, duration: '2s', exec: 'write' },
    reads: { executor: 'constant-vus', vus: 2, duration: '1s', exec: 'read' },
  },
  exec: {
    async write(ctx) {
      const id = 'w-' + ctx.iteration;
      const res = await ctx.http.write(ctx.env.TARGET + '/v1/records', { id, node: 'edge-1', payloadBytes: 2 }, { id, ts: 0, payload: 'hi' + target });
      ctx.check('write acknowledged', res.status === 201);
    },
    async read(ctx) {
      await ctx.http.get(ctx.env.TARGET + '/healthz', { tags: { name: 'healthz', node: 'edge-1' } });
    },
  },
});
`,
    );
    await using reg = CleanupRegistry.open('test-load', dir.path);
    const res = await runLoad({
      script,
      outDir: join(dir.path, 'out'),
      env: { TARGET: srv.url, SEED: '7' },
      registry: reg,
    });
    const { summary } = res;
    assert.equal(
      summary.writes.ok + summary.writes.indeterminate + summary.writes.failed,
      100,
      'rate 50/s for 2 s = 100 writes',
    );
    assert.equal(summary.writes.indeterminate, writesSeen / 5);
    assert.equal(summary.checks['write acknowledged']?.fails, writesSeen / 5);
    assert.ok((summary.byName['healthz']?.count ?? 0) > 10, 'constant-vus loop ran');
    assert.ok(summary.http.p99 > 0 && summary.http.p99 < 1000);
    assert.equal(summary.series.length >= 2, true);
    assert.equal(reg.pending().length, 0, 'runner process forgotten after it exited');
  });
});
