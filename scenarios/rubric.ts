import { defineRubric } from '../src/scoring/rubric.ts';

/**
 * The edge-container track's nine criteria. Anchors: "best" earns full marks, "worst" none, linear
 * between. Criteria a target cannot measure (scheduling on `local`) are reported as not measured.
 * Bump `version` whenever an anchor, weight or gate changes; reports state the version they used.
 * 1.1.0: gate on reschedule.p99-ms (≤ 60 s), measured by the rescheduling check on Kubernetes targets.
 * 1.2.0: a failed gate zeroes the criterion it guards; losing an acknowledged write (sync.lost > 0)
 * zeroes the whole edge–cloud area (see the gate's `reason`). What the submission does not provide
 * (no image, too few acknowledged writes, no conformance run) scores zero instead of "not measured".
 */
export default defineRubric({
  name: 'edge-container-track',
  version: '1.2.0',
  criteria: [
    {
      id: 'image-size',
      title: 'Image size (compressed)',
      area: 'lightweight-images',
      weight: 10,
      terms: [{ metric: 'image.max.bytes', direction: 'lower-is-better', best: 5e6, worst: 50e6 }],
      gates: [
        { metric: 'image.max.bytes', op: '<', value: 10e6, because: 'the track asks for images under 10 MB' },
      ],
    },
    {
      id: 'startup-speed',
      title: 'Start-up speed (cold start → first 200 on /healthz, median)',
      area: 'lightweight-images',
      weight: 10,
      terms: [
        { metric: 'startup.edge-agent.median-ms', direction: 'lower-is-better', best: 20, worst: 2000 },
      ],
    },
    {
      id: 'functional-completeness',
      title: 'Functional completeness (stack contract conformance)',
      area: 'lightweight-images',
      weight: 15,
      terms: [{ metric: 'conformance.pass-ratio', direction: 'higher-is-better', best: 1, worst: 0.5 }],
    },
    {
      id: 'offline-stability',
      title: 'Stability while offline',
      area: 'edge-cloud-collaboration',
      weight: 15,
      terms: [
        { metric: 'offline.success-rate', direction: 'higher-is-better', best: 1, worst: 0.9, weight: 3 },
        { metric: 'offline.p99-ms', direction: 'lower-is-better', best: 20, worst: 1000, weight: 1 },
      ],
      gates: [
        {
          metric: 'sync.lost',
          op: '==',
          value: 0,
          because: 'every write the edge acknowledged must reach the cloud',
          zeroes: 'area',
          reason:
            'an edge that loses data it acknowledged has failed the point of edge–cloud collaboration: ' +
            'offline availability, sync efficiency and a small footprint bought by dropping acknowledged ' +
            'writes are worth nothing, so none of the area earns points',
        },
        {
          metric: 'sync.duplicated',
          op: '==',
          value: 0,
          because: 'a write must reach the cloud exactly once',
        },
        {
          metric: 'offline.restarts',
          op: '==',
          value: 0,
          because: 'the edge must not crash while the cloud is gone',
        },
      ],
    },
    {
      id: 'sync-efficiency',
      title: 'Sync efficiency (uplink bytes per payload byte, convergence after heal)',
      area: 'edge-cloud-collaboration',
      weight: 10,
      terms: [
        { metric: 'sync.overhead-ratio', direction: 'lower-is-better', best: 0.5, worst: 5, weight: 2 },
        { metric: 'sync.converge-ms', direction: 'lower-is-better', best: 500, worst: 30_000, weight: 1 },
        {
          metric: 'downlink.propagation-ms',
          direction: 'lower-is-better',
          best: 200,
          worst: 30_000,
          weight: 1,
        },
      ],
    },
    {
      id: 'resource-use',
      title: 'Resource use of the edge agent (peak RSS, CPU per 1k writes)',
      area: 'edge-cloud-collaboration',
      weight: 10,
      terms: [
        { metric: 'resources.edge-peak-rss-bytes', direction: 'lower-is-better', best: 10e6, worst: 256e6 },
        {
          metric: 'resources.edge-cpu-ms-per-1k-writes',
          direction: 'lower-is-better',
          best: 50,
          worst: 5000,
        },
      ],
    },
    {
      id: 'scheduling-latency',
      title: 'Scheduling latency (pod created → bound, p99)',
      area: 'dynamic-scheduling',
      weight: 10,
      terms: [
        { metric: 'scheduling.p99-ms', direction: 'lower-is-better', best: 50, worst: 5000, weight: 2 },
        { metric: 'reschedule.p99-ms', direction: 'lower-is-better', best: 5000, worst: 120_000, weight: 1 },
      ],
      gates: [
        {
          metric: 'reschedule.p99-ms',
          op: '<=',
          value: 60_000,
          because: "a lost edge node's workload must be Ready elsewhere within a minute",
        },
      ],
    },
    {
      id: 'resource-utilisation',
      title: 'Resource utilisation (spread of CPU use across nodes, latency-aware placement)',
      area: 'dynamic-scheduling',
      weight: 10,
      terms: [
        { metric: 'scheduling.cpu-spread', direction: 'lower-is-better', best: 0.05, worst: 0.5 },
        { metric: 'scheduling.low-latency-share', direction: 'higher-is-better', best: 0.9, worst: 0.2 },
      ],
    },
    {
      id: 'cluster-throughput',
      title: 'Cluster throughput (pods scheduled per second)',
      area: 'dynamic-scheduling',
      weight: 10,
      terms: [
        { metric: 'scheduling.throughput-pods-per-s', direction: 'higher-is-better', best: 200, worst: 10 },
      ],
    },
  ],
});
