import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { freePort } from '../../src/core/net.ts';
import { startToxiproxy, type StartedToxiproxy } from '../../src/tools/toxiproxy.ts';
import { startHttpServer, type TestServer } from '../helpers/http-server.ts';
import { tempDir } from '../helpers/temp.ts';
import { median } from '../helpers/measure.ts';

async function timedGet(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url);
  await res.text();
  assert.equal(res.status, 200);
  return performance.now() - t0;
}

describe('toxiproxy (real server built by bootstrap)', () => {
  const dir = tempDir('toxi');
  let reg: CleanupRegistry;
  let toxi: StartedToxiproxy;
  let upstream: TestServer;

  before(async () => {
    reg = CleanupRegistry.open('test-toxi', dir.path);
    upstream = await startHttpServer();
    toxi = await startToxiproxy({ registry: reg, logDir: dir.path });
  });
  after(async () => {
    await toxi?.stop();
    await upstream?.close();
    await reg?.close();
    dir[Symbol.dispose]();
  });

  it('should enable and disable a proxy', async () => {
    const port = await freePort();
    const proxy = await toxi.client.createProxy({
      name: 'flip',
      listen: `127.0.0.1:${port}`,
      upstream: `127.0.0.1:${upstream.port}`,
    });
    await timedGet(`http://127.0.0.1:${port}/`);
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await assert.rejects(fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }));
    await proxy.update({ enabled: true, listen: proxy.listen, upstream: proxy.upstream });
    await timedGet(`http://127.0.0.1:${port}/`);
    await proxy.remove();
  });

  it('should add real latency with a latency toxic and remove it again', async () => {
    const port = await freePort();
    const proxy = await toxi.client.createProxy({
      name: 'slow',
      listen: `127.0.0.1:${port}`,
      upstream: `127.0.0.1:${upstream.port}`,
    });
    const handle = reg.add('toxiproxy-proxy', 'proxy slow', { api: toxi.api, proxy: 'slow' });
    const url = `http://127.0.0.1:${port}/`;
    const base = await median(() => timedGet(url));
    const toxicHandle = reg.add('toxiproxy-toxic', 'latency 300ms on slow', {
      api: toxi.api,
      proxy: 'slow',
      toxic: 'lat',
    });
    await proxy.addToxic({
      name: 'lat',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 300, jitter: 0 },
    });
    const slow = await median(() => timedGet(url));
    // The toxic holds every answer 300 ms: a lower bound of each request, whatever the machine's
    // load (subtracting a base measured earlier mixed in that load's noise: 289 ms "added" at load 26).
    assert.ok(base < 300, `requests take ${Math.round(base)} ms before the toxic`);
    assert.ok(slow >= 300, `with a 300 ms latency toxic a request took ${Math.round(slow)} ms`);
    await toxicHandle.revert();
    const healed = await median(() => timedGet(url));
    assert.ok(healed < 300, `after revert requests still take ${Math.round(healed)} ms`);
    await handle.revert();
    const all = await toxi.client.getAll();
    assert.equal(all['slow'], undefined, 'proxy removed by its cleanup handle');
  });
});
