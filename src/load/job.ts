import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeRunners } from './merge.ts';
import type { LoadResult } from './run-load.ts';
import { readSamples, summarizeFile } from './summary.ts';
import type { Sample } from './types.ts';

/**
 * What every `--load-replicas` Job shares, whatever runs its pods (processes on kube-local, the
 * load runner image on a cluster): segment i of N, and the segments' results merged as one test.
 */

/** The execution segment of pod `index` of `replicas` (k6-operator's equal split). */
export const segmentOf = (index: number, replicas: number): string =>
  `${index}/${replicas}:${index + 1}/${replicas}`;

/** Where segment `index`'s samples.jsonl and load-result.json go under the load's outDir. */
export const segmentDir = (outDir: string, index: number): string => join(outDir, `segment-${index}`);

/** The segments' samples on one clock (the earliest runner's start), in time order, one start/end. */
export function mergeSamples(parts: readonly Sample[][]): Sample[] {
  const starts = parts.map((p) => p.find((s) => s.type === 'start'));
  const epochs = starts.flatMap((s) => (s?.type === 'start' ? [s.epochMs] : []));
  const t0 = epochs.length ? Math.min(...epochs) : 0;
  let cpuStart = 0;
  let cpuEnd = 0;
  let tEnd = 0;
  const body: Sample[] = [];
  parts.forEach((p, i) => {
    const st = starts[i];
    const shift = st?.type === 'start' ? st.epochMs - t0 : 0;
    for (const s of p) {
      if (s.type === 'start') cpuStart += s.cpuSeconds ?? 0;
      else if (s.type === 'end') {
        cpuEnd += s.cpuSeconds;
        tEnd = Math.max(tEnd, s.t + shift);
      } else {
        const m = { ...s, t: s.t + shift };
        if (m.type === 'write') m.tDone += shift;
        body.push(m);
      }
    }
  });
  body.sort((a, b) => a.t - b.t);
  return [
    { type: 'start', t: 0, epochMs: t0, cpuSeconds: cpuStart },
    ...body,
    { type: 'end', t: tEnd, cpuSeconds: cpuEnd },
  ];
}

/**
 * The segments' results as one: samples merged on one clock into `<outDir>/samples.jsonl`, metrics
 * merged as k6's (merge.ts). `results[i]` is segment i's, undefined when it left nothing.
 */
export function mergeSegmentResults(
  outDir: string,
  results: readonly (LoadResult | undefined)[],
  keepSamples?: boolean,
): LoadResult {
  const parts = results.map((r) => (r ? readSamples(r.samplesFile) : []));
  const merged = mergeSamples(parts);
  const samplesFile = join(outDir, 'samples.jsonl');
  writeFileSync(samplesFile, merged.map((s) => JSON.stringify(s)).join('\n') + '\n');
  const ended = results.filter((r) => r !== undefined);
  // a runner that ended left its state; one killed before its end left nothing to merge
  const { metrics, thresholds } = mergeRunners(
    ended.flatMap((r) => (r.state ? [{ state: r.state, thresholds: r.thresholds }] : [])),
  );
  const first = ended[0];
  return {
    samplesFile,
    samples: keepSamples === false ? [] : merged,
    summary: summarizeFile(samplesFile),
    pid: first?.pid ?? 0,
    thresholds,
    thresholdsFailed: thresholds.some((t) => !t.ok),
    aborted: results.find((r) => r?.aborted)?.aborted,
    metrics,
    k6Summary: undefined,
    exitCode: Math.max(0, ...results.map((r) => r?.exitCode ?? 1)),
  };
}
