/**
 * The check catalogue: every check (and collector) that produces metrics, with the metrics it can
 * produce. A rubric may only score or gate a metric declared here (src/scoring/rubric.ts), so a typo
 * such as `image.max.byte` is an error instead of a silently dropped criterion.
 */

export type Direction = 'lower-is-better' | 'higher-is-better';

export interface MetricSpec {
  /** Metric name; `{image}` stands for one path segment (an image name). */
  name: string;
  unit: string;
  direction: Direction;
  description: string;
}

export interface CheckSpec {
  id: string;
  title: string;
  metrics: readonly MetricSpec[];
}

const m = (name: string, unit: string, direction: Direction, description: string): MetricSpec => ({
  name,
  unit,
  direction,
  description,
});

const schedulingP99 = m('scheduling.p99-ms', 'ms', 'lower-is-better', 'p99 created → bound');

/** The placement metrics of the scheduling benchmark, in a campaign and from `edgechaos bench scheduling`. */
const schedulingBenchMetrics: readonly MetricSpec[] = [
  m('scheduling.throughput-pods-per-s', 'pods/s', 'higher-is-better', 'pods bound per second'),
  m('scheduling.cpu-spread', 'stddev of node CPU utilisation', 'lower-is-better', 'spread of node CPU use'),
  m('scheduling.low-latency-share', 'ratio', 'higher-is-better', 'share placed on the lowest-latency node'),
];

export const checkCatalogue: readonly CheckSpec[] = [
  {
    id: 'resumed-sync',
    title: 'Resumed sync: every acknowledged write reaches the cloud exactly once',
    metrics: [
      m('sync.lost', 'writes', 'lower-is-better', 'acknowledged writes missing from the cloud ledger'),
      m('sync.duplicated', 'writes', 'lower-is-better', 'ids found more than once in the ledger'),
      m('sync.indeterminate', 'writes', 'lower-is-better', 'writes the client got no answer for'),
      m('sync.acknowledged', 'writes', 'higher-is-better', 'writes the edges acknowledged'),
      m('sync.converge-ms', 'ms', 'lower-is-better', 'heal → every acknowledged write in the ledger'),
    ],
  },
  {
    id: 'offline',
    title: 'Offline operation: the edge keeps serving while its cloud link is cut',
    metrics: [
      m(
        'offline.success-rate',
        'ratio',
        'higher-is-better',
        'share of requests to cut-off edges that succeeded',
      ),
      m('offline.p99-ms', 'ms', 'lower-is-better', 'p99 of successful requests to cut-off edges'),
      m('offline.restarts', 'restarts', 'lower-is-better', 'unplanned restarts during the cuts'),
      m('offline.requests', 'requests', 'higher-is-better', 'requests judged inside the cuts'),
    ],
  },
  {
    id: 'sync-efficiency',
    title: 'Sync efficiency: uplink bytes per synced record',
    metrics: [
      m('sync.overhead-ratio', 'ratio', 'lower-is-better', 'uplink bytes / payload bytes of synced records'),
      m('sync.bytes-per-record', 'B', 'lower-is-better', 'uplink bytes per synced record'),
      m('sync.uplink-bytes', 'B', 'lower-is-better', 'bytes on the edge↔cloud links'),
    ],
  },
  {
    id: 'downlink',
    title: 'Downlink: published config reaches every edge',
    metrics: [
      m('downlink.propagation-ms', 'ms', 'lower-is-better', 'publish → edge reports the version (online)'),
      m('downlink.after-heal-ms', 'ms', 'lower-is-better', 'heal → a cut-off edge reports the version'),
    ],
  },
  {
    id: 'resources',
    title: 'Resource use of the edge agents (cgroup peak memory, CPU)',
    metrics: [
      m('resources.edge-peak-rss-bytes', 'B', 'lower-is-better', 'peak memory of an edge cgroup'),
      m('resources.edge-cpu-seconds', 's', 'lower-is-better', 'CPU of the edge cgroups over the run'),
      m(
        'resources.edge-cpu-ms-per-1k-writes',
        'ms',
        'lower-is-better',
        'edge CPU per 1,000 acknowledged writes',
      ),
    ],
  },
  {
    id: 'startup',
    title: 'Start-up: cold start → first 200 on /healthz',
    metrics: [m('startup.edge-agent.median-ms', 'ms', 'lower-is-better', 'median cold start')],
  },
  {
    id: 'image-size',
    title: 'Image size (compressed layers + config)',
    metrics: [
      m('image.max.bytes', 'B', 'lower-is-better', 'largest compressed image'),
      m('image.{image}.bytes', 'B', 'lower-is-better', 'one compressed image'),
    ],
  },
  {
    id: 'load-thresholds',
    title: "Load: the script's thresholds, as k6 evaluates them",
    metrics: [
      m('load.http_req_duration.p95', 'ms', 'lower-is-better', 'p95 of every request (k6 http_req_duration)'),
      m('load.http_req_duration.p99', 'ms', 'lower-is-better', 'p99 of every request'),
      m('load.http_req_failed.rate', 'ratio', 'lower-is-better', 'share of requests that failed'),
      m('load.http_reqs.rate', 'req/s', 'higher-is-better', 'requests per second over the load phase'),
      m('load.checks.rate', 'ratio', 'higher-is-better', "share of the script's checks that passed"),
      m('load.dropped_iterations.count', 'iterations', 'lower-is-better', 'arrivals with no free VU'),
      m('load.thresholds.failed', 'thresholds', 'lower-is-better', "the script's thresholds that failed"),
    ],
  },
  {
    // `edgechaos run --find-capacity` (src/campaign/capacity.ts): measured on the healed stack, then
    // on each edge again under the faults the scenario holds on it.
    id: 'stress-capacity',
    title: 'Stress capacity: the highest arrival rate each edge sustains within the SLO',
    metrics: [
      m(
        'capacity.min-rps',
        'req/s',
        'higher-is-better',
        'capacity of the weakest edge (p99 and errors within the SLO)',
      ),
      m('capacity.{node}.rps', 'req/s', 'higher-is-better', 'capacity of one edge'),
      m(
        'capacity.min-under-faults-rps',
        'req/s',
        'higher-is-better',
        'capacity of the weakest edge while the faults the scenario holds on it are applied again',
      ),
      m(
        'capacity.{node}.under-faults-rps',
        'req/s',
        'higher-is-better',
        'capacity of one edge under the faults the scenario holds on it',
      ),
    ],
  },
  {
    id: 'conformance',
    title: 'Functional completeness: stack contract conformance',
    metrics: [
      m('conformance.pass-ratio', 'ratio', 'higher-is-better', 'share of contract behaviours passed'),
    ],
  },
  {
    id: 'scheduling-latency',
    title: 'Scheduling latency: pod created → bound',
    metrics: [schedulingP99],
  },
  {
    id: 'rescheduling',
    title: 'Rescheduling: node lost → workload Ready on other nodes',
    metrics: [m('reschedule.p99-ms', 'ms', 'lower-is-better', 'p99 node lost → replicas Ready elsewhere')],
  },
  {
    id: 'scheduling-bench',
    title: 'Scheduling benchmark (in a campaign)',
    metrics: [...schedulingBenchMetrics],
  },
  {
    // `edgechaos bench scheduling` (src/scheduling/bench.ts schedulingMetrics), scored on its own.
    id: 'bench-scheduling',
    title: 'Scheduling benchmark (edgechaos bench scheduling)',
    metrics: [
      schedulingP99,
      m('scheduling.p50-ms', 'ms', 'lower-is-better', 'p50 created → bound'),
      ...schedulingBenchMetrics,
      m('reschedule.p99-ms', 'ms', 'lower-is-better', 'p99 overload migration → Ready'),
    ],
  },
];

function matches(pattern: string, name: string): boolean {
  if (!pattern.includes('{')) return pattern === name;
  const re = new RegExp(
    `^${pattern
      .split(/\{[a-z]+\}/)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^.]+')}$`,
  );
  return re.test(name);
}

/**
 * Campaign targets that run a check; a check not listed runs on every target. An empty list: the
 * check's metrics come from outside campaigns (`edgechaos bench scheduling`).
 */
export const checkTargets: Readonly<Record<string, readonly string[]>> = {
  'scheduling-latency': ['kube', 'kube-local', 'kind'],
  rescheduling: ['kube', 'kube-local', 'kind'],
  'scheduling-bench': ['kube-local'],
  'bench-scheduling': [],
};

/** Whether a campaign on `target` runs a check that can produce `metric`. */
export function measurableOn(metric: string, target: string): boolean {
  return producersOf(metric).some(({ check }) => checkTargets[check.id]?.includes(target) ?? true);
}

/** The checks that declare a metric (empty when none does). */
export function producersOf(metric: string): { check: CheckSpec; spec: MetricSpec }[] {
  return checkCatalogue.flatMap((check) =>
    check.metrics.filter((spec) => matches(spec.name, metric)).map((spec) => ({ check, spec })),
  );
}

/** Every metric name a check declares (patterns as written). */
export function declaredMetrics(): string[] {
  return [...new Set(checkCatalogue.flatMap((c) => c.metrics.map((s) => s.name)))];
}

/** The metrics one check declares (concrete names only: patterns such as image.{image}.bytes are left out). */
export function metricsOfCheck(id: string): string[] {
  return (checkCatalogue.find((c) => c.id === id)?.metrics ?? [])
    .map((s) => s.name)
    .filter((n) => !n.includes('{'));
}
