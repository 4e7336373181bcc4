/**
 * The floor under the load runner, for bench/load.ts: the same closed loop of `connections` keep-alive
 * connections for `seconds`, with less of the runner each time, so the cost of each layer shows:
 *   dispatch  undici's Client.dispatch with a handler that does nothing (the HTTP engine alone)
 *   client    the runner's own HTTP layer (src/load/http-client.ts: per-request timings, body kept,
 *             timeouts), still without VUs, metrics, samples or AsyncLocalStorage
 * Prints one JSON line: requests and the CPU-seconds (this process's getrusage) between the start and
 * the end of the loop, start-up excluded as for the runner.
 *
 *   node --import tsx bench/load-floor.ts dispatch|client <url> <connections> <seconds>
 */
import { Client, type Dispatcher } from 'undici';
import { httpRequest, VuConnections, warmUp } from '../src/load/http-client.ts';

const [mode, url, connArg, secArg] = process.argv.slice(2);
if ((mode !== 'dispatch' && mode !== 'client') || !url) {
  console.error('usage: load-floor.ts dispatch|client <url> <connections> <seconds>');
  process.exit(2);
}
const conns = Number(connArg ?? 64);
const seconds = Number(secArg ?? 5);
const u = new URL(url);
const origin = u.origin;
const path = u.pathname + u.search;

const cpu = (): number => {
  const r = process.resourceUsage();
  return (r.userCPUTime + r.systemCPUTime) / 1e6;
};

function dispatchOnce(c: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const handler: Dispatcher.DispatchHandler = {
      onConnect: () => undefined,
      onHeaders: () => true,
      onData: () => true,
      onComplete: () => resolve(),
      onError: reject,
    };
    c.dispatch({ origin, path, method: 'GET' }, handler);
  });
}

await warmUp();
let requests = 0;
const c0 = cpu();
const end = performance.now() + seconds * 1000;
if (mode === 'dispatch') {
  await Promise.all(
    Array.from({ length: conns }, async () => {
      const c = new Client(origin, { pipelining: 1, keepAliveTimeout: 30_000 });
      while (performance.now() < end) {
        await dispatchOnce(c);
        requests++;
      }
      await c.close();
    }),
  );
} else {
  await Promise.all(
    Array.from({ length: conns }, async () => {
      const c = new VuConnections();
      while (performance.now() < end) {
        const r = await httpRequest(c, { method: 'GET', url, timeoutMs: 60_000 });
        if (r.error) throw new Error(`request failed: ${r.error}`);
        requests++;
      }
      await c.close();
    }),
  );
}
console.log(JSON.stringify({ requests, cpuSeconds: cpu() - c0 }));
