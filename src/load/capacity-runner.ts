/**
 * The capacity search as its own process (like the load runner):
 * `node --import tsx src/load/capacity-runner.ts <config.json> <out.json>`. The config is
 * `CapacitySearch` (url, slo, startRate, maxRate, stepMs, method?, body?); the result is
 * `CapacityResult`, written when the search ends. SIGTERM: the current step stops, exit 130.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { findCapacity, httpProbe, type CapacitySearch } from './capacity.ts';

const [configFile, outFile] = process.argv.slice(2);
if (!configFile || !outFile) {
  process.stderr.write('usage: capacity-runner.ts <config.json> <out.json>\n');
  process.exit(2);
}
const c = JSON.parse(readFileSync(configFile, 'utf8')) as CapacitySearch;
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(130));
const res = await findCapacity({
  slo: c.slo,
  startRate: c.startRate,
  maxRate: c.maxRate,
  stepMs: c.stepMs,
  ...(c.confirmBreaches ? { confirmBreaches: c.confirmBreaches } : {}),
  probe: httpProbe(c.url, { ...(c.method ? { method: c.method } : {}), ...(c.body ? { body: c.body } : {}) }),
  onStep: (s) =>
    process.stderr.write(
      `step ${s.rate}/s: p99 ${s.p99Ms.toFixed(1)} ms (runner lag p99 ${(s.lagP99Ms ?? 0).toFixed(1)} ms), errors ${(s.errorRate * 100).toFixed(2)} %, dropped ${s.dropped}` +
        `${s.ok ? '' : ` — breaks (${s.breach})`}\n`,
    ),
});
writeFileSync(outFile, JSON.stringify(res));
process.stderr.write(`capacity ${res.capacity}/s (limited by ${res.limitedBy})\n`);
process.exit(0);
