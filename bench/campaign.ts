/**
 * Campaign benchmark: runs a campaign on the local target (default: scenarios/standard.ts) and prints
 * the harness's own CPU use beside the load runner's (its peer: the process doing the k6-style work),
 * sustained acknowledged writes/s and write p99 per edge, and sync convergence after heal.
 * Usage (root): npx tsx bench/campaign.ts [scenario.ts]
 */
import { localPlugin } from '../src/targets/local/plugin.ts';
import { runCampaign } from '../src/campaign/run.ts';
import { loadScenario } from '../src/campaign/scenario.ts';
import { table } from '../src/cli/output.ts';
import type { WriteSample } from '../src/load/summary.ts';
import { readSamples } from '../src/load/summary.ts';
import { join } from 'node:path';

const file = process.argv[2] ?? 'scenarios/standard.ts';
const scenario = await loadScenario(file);
scenario.checks.conformance = false;
const t0 = performance.now();
const { record, runDir } = await runCampaign({
  scenario,
  target: localPlugin,
  signal: new AbortController().signal,
});
const wall = (performance.now() - t0) / 1000;
const h = record.harness;
const load = record.load.summary;
const loadSeconds = h?.wallSeconds ?? 0;
console.log(
  `campaign ${record.scenario.name} (seed ${record.seed}) on the local target: ${wall.toFixed(1)} s wall in all; load phase ${loadSeconds.toFixed(1)} s`,
);
console.log('');
console.log(
  table(
    [
      [
        'harness (this process)',
        h ? h.cpuSeconds.toFixed(2) : '-',
        h ? `${(h.shareOfOneCore * 100).toFixed(1)}%` : '-',
        'target < 5%',
      ],
      [
        'load runner (peer)',
        load?.runnerCpuSeconds?.toFixed(2) ?? '-',
        load?.runnerCpuSeconds !== undefined && loadSeconds
          ? `${((load.runnerCpuSeconds / loadSeconds) * 100).toFixed(1)}%`
          : '-',
        h && load?.runnerCpuSeconds
          ? `harness/runner = ${(h.cpuSeconds / load.runnerCpuSeconds).toFixed(2)}`
          : '',
      ],
    ],
    ['process', 'CPU s during load', 'share of one core', ''],
  ),
);
console.log('');
const writes = readSamples(join(runDir, 'load', 'samples.jsonl')).filter(
  (s): s is WriteSample => s.type === 'write',
);
const rows = Object.entries(load?.byNode ?? {}).map(([node, st]) => {
  const acked = writes.filter((w) => w.node === node && w.outcome === 'ok').length;
  return [
    node,
    String(acked),
    (acked / loadSeconds).toFixed(1),
    st.p50.toFixed(1),
    st.p99.toFixed(1),
    String(st.failed),
  ];
});
console.log(
  table(rows, [
    'edge',
    'acked writes',
    'acked writes/s',
    'p50 ms (all requests)',
    'p99 ms',
    'failed requests',
  ]),
);
console.log('');
const conv = record.metrics['sync.converge-ms'];
console.log(
  `sync converged ${conv ? `${conv.value} ms` : 'NOT'} after heal; lost ${record.metrics['sync.lost']?.value}, duplicated ${record.metrics['sync.duplicated']?.value}`,
);
console.log(`score ${record.score.total} / ${record.score.possible}; run dir ${runDir}`);
