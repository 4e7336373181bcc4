/**
 * Typing of fault entries as a scenario file writes them (`defineScenario({ faults: [...] })`): a
 * discriminated union on `kind`, one member per kind of the catalogue (and the Kubernetes targets'
 * kinds), each with its params typed — editors complete kinds and param names, and a misspelt kind,
 * an unknown param or `latency: 'fast'` fails `tsc`. Types only: the runtime check stays each kind's
 * `parse()` (run by `run --dry-run` and before every run). Value unions (stream, between, signal…)
 * come from the parsed params' types of each kind, so they cannot drift from what parse() returns;
 * param names are checked against each kind's `params` table by test/unit/fault-typing.test.ts.
 */
import type { bandwidth } from './bandwidth.ts';
import type { flap } from './flap.ts';
import type { ioError } from './io-error.ts';
import type { kill } from './kill.ts';
import type { loss } from './loss.ts';
import type { partition } from './partition.ts';
import type { pause } from './pause.ts';
import type { FaultKind } from './types.ts';
import type { Stream } from './toxic.ts';

/** The params a kind's parse() returns. */
type Parsed<K> = K extends FaultKind<infer P> ? P : never;

type Num = number | `${number}`;
type Unit = 'ms' | 's' | 'm' | 'h';
/** "250ms", "30s", "1m30s", "2h", or a number of milliseconds (parseDuration's grammar, at most 7 days). */
export type Duration =
  | number
  | `${number}`
  | `${number}${Unit}`
  | `${number}${Unit}${number}${Unit}`
  | `${number}${Unit}${number}${Unit}${number}${Unit}`;
/** "64kbps", "1mbit", "2Mbps", "100KB/s" (bytes), or a number of bit/s (Params.rate's grammar). */
export type Rate =
  | number
  | `${number}${'' | 'k' | 'K' | 'm' | 'M' | 'g' | 'G'}${'bps' | 'bit' | 'bit/s' | 'b/s' | 'Bps' | 'B/s'}`;
/** "256MiB", "1GiB", "512M", a number of bytes, or a share of the node's memory limit: "90%". */
export type Size =
  | number
  | `${number}`
  | `${number}${string}B`
  | `${number}${'K' | 'M' | 'G' | 'k' | 'm' | 'g'}`
  | `${number}%`;
type Bool = boolean | 'true' | 'false' | '1' | '0' | 'yes' | 'no';

/** A kind without params. */
type NoParams = { [param: string]: never };

interface ToxicCommon {
  stream?: Stream;
  /** Share of connections affected, 0..1. */
  toxicity?: Num;
}

/** Param types by kind (as written in a scenario: durations and rates as text or numbers). */
export interface FaultParamsByKind {
  partition: {
    between?: Parsed<typeof partition>['between'];
    direction?: Parsed<typeof partition>['direction'];
    /** Only traffic to/from this node (edge-edge) or address. */
    peer?: string;
    action?: Parsed<typeof partition>['action'];
  };
  latency: ToxicCommon & { latency: Duration; jitter?: Duration };
  bandwidth: ToxicCommon & {
    rate: Rate;
    via?: Parsed<typeof bandwidth>['via'];
    burst?: Num;
    queue?: Duration;
  };
  'reset-peer': ToxicCommon & { timeout?: Duration };
  timeout: ToxicCommon & { timeout?: Duration };
  slicer: ToxicCommon & { averageSize?: Num; sizeVariation?: Num; delay?: Duration };
  flap: {
    between?: Parsed<typeof flap>['between'];
    minDown?: Duration;
    maxDown?: Duration;
    minUp?: Duration;
    maxUp?: Duration;
  };
  'cpu-stress': { workers?: Num; load?: Num };
  'memory-stress': { size?: Size; workers?: Num };
  kill: { signal?: Parsed<typeof kill>['signal']; restartAfter?: Duration; restart?: Bool };
  pause: { method?: Parsed<typeof pause>['method'] };
  'restart-node': { downFor?: Duration };
  // the faults edge devices meet (local target: a data layer per edge)
  loss: {
    percent: Num;
    between?: Parsed<typeof loss>['between'];
    direction?: Parsed<typeof loss>['direction'];
    peer?: string;
    burst?: Duration;
    burstPercent?: Num;
  };
  'disk-full': NoParams;
  'io-latency': { op?: string; prob?: Num | `${number}%`; delay?: Duration };
  'io-error': { op?: string; prob?: Num | `${number}%`; errno?: Parsed<typeof ioError>['errno'] };
  'power-loss': { downFor?: Duration };
  'clock-skew': { offset: Duration | `+${Duration}` | `-${Duration}` };
  // Kubernetes targets (kube-local, kind, kube)
  'node-loss': NoParams;
  cordon: NoParams;
  drain: NoParams;
  overload: NoParams;
  'pod-kill': { workload?: string };
}

/** Every fault kind a scenario may name. */
export type FaultKindName = keyof FaultParamsByKind;

/** The Kubernetes targets' fault kinds (faults/kube.ts). */
export const kubeFaultKindNames = ['node-loss', 'cordon', 'drain', 'overload', 'pod-kill'] as const;

type NodeSelector = string | { random: string[] };

/** One fault entry of a scenario, typed by its kind. */
export type TypedFaultEntry = {
  [K in FaultKindName]: {
    kind: K;
    /** Node name, or `{ random: [...] }` picked with the scenario's seed. */
    node: NodeSelector;
    /** Offset from the start of the load phase. */
    at: Duration;
    /** How long it stays applied (instant faults like kill have none). */
    for?: Duration;
    // params may be left out when the kind has no required param
  } & (Record<never, never> extends FaultParamsByKind[K]
    ? { params?: FaultParamsByKind[K] }
    : { params: FaultParamsByKind[K] });
}[FaultKindName];
