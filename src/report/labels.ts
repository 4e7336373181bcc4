/**
 * Human labels for the field names that reach a report (metric keys, check evidence keys). The raw key
 * stays available next to the label (rubrics refer to metrics by key); a key without an entry is turned
 * into words ("failedButPresent" → "Failed but present").
 */
const metricLabels: Record<string, string> = {
  'sync.lost': 'Lost writes',
  'sync.duplicated': 'Duplicated writes',
  'sync.indeterminate': 'Indeterminate writes',
  'sync.acknowledged': 'Acknowledged writes',
  'sync.converge-ms': 'Convergence after heal',
  'sync.bytes-per-record': 'Uplink bytes per record',
  'sync.uplink-bytes': 'Uplink bytes',
  'sync.overhead-ratio': 'Uplink overhead (bytes sent / payload)',
  'offline.success-rate': 'Requests served while offline',
  'offline.p99-ms': 'p99 latency while offline',
  'offline.requests': 'Requests while offline',
  'offline.restarts': 'Unplanned restarts',
  'downlink.propagation-ms': 'Config propagation time',
  'downlink.after-heal-ms': 'Config delivery after heal',
  'resources.edge-cpu-ms-per-1k-writes': 'Edge CPU per 1,000 writes',
  'resources.edge-cpu-seconds': 'Edge CPU time',
  'resources.edge-peak-rss-bytes': 'Edge peak memory',
  'startup.edge-agent.median-ms': 'Edge agent cold start (median)',
  'image.max.bytes': 'Largest image',
  'conformance.pass-ratio': 'Contract cases passed',
  'scheduling.p99-ms': 'Scheduling latency p99',
  'reschedule.p99-ms': 'Rescheduling after node loss p99',
  'scheduling.cpu-spread': 'CPU spread across nodes',
  'scheduling.low-latency-share': 'Pods on low-latency nodes',
  'scheduling.throughput-pods-per-s': 'Scheduling throughput',
};

const evidenceLabels: Record<string, string> = {
  lost: 'Lost writes (acknowledged, missing from the cloud ledger)',
  duplicated: 'Duplicated writes (in the ledger more than once)',
  phantom: 'Phantom records (in the ledger, never written)',
  failedButPresent: 'Writes reported as failed but present in the ledger',
  indeterminateFound: 'Indeterminate writes found in the ledger',
  ledgerRows: 'Rows in the cloud ledger',
  windows: 'Offline windows',
  excludedOutages: 'Outages left out (planned process faults)',
  errors: 'Errors by kind',
  restarts: 'Restarts per node',
  crashes: 'Crashes',
  logExcerpt: 'Agent log excerpt',
  uplinkBytes: 'Uplink bytes per edge',
  syncedRecords: 'Records synced',
  payloadBytes: 'Payload bytes',
  publications: 'Config publications',
  missing: 'Missing deliveries',
  usage: 'Resource usage per edge',
  samplesMs: 'Cold-start samples (ms)',
  images: 'Image sizes',
  cases: 'Contract cases',
  scheduler: 'Scheduler',
  podLatency: 'Pod scheduling latency',
  mechanism: 'Mechanism',
  trials: 'Trials',
  error: 'Error',
  excluded: 'Left out',
  peakRssBytes: 'Peak RSS',
  memoryBytes: 'Memory',
  cpuSeconds: 'CPU seconds',
  compressedBytes: 'Compressed size',
  uncompressedBytes: 'Uncompressed size',
  file: 'File',
};

/** "failedButPresent" / "edge-cpu_seconds" → "Failed but present" / "Edge cpu seconds". */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[-_.]+/g, ' ')
    .trim()
    .toLowerCase();
  return words ? words[0]!.toUpperCase() + words.slice(1) : key;
}

export function metricLabel(key: string): string {
  const known = metricLabels[key];
  if (known) return known;
  // Per-image and per-node metrics: image.<name>.bytes, startup.<name>.median-ms.
  const img = key.match(/^image\.(.+)\.bytes$/);
  if (img) return `Image ${img[1]}`;
  const start = key.match(/^startup\.(.+)\.median-ms$/);
  if (start) return `${start[1]} cold start (median)`;
  return humanize(key);
}

export function evidenceLabel(key: string): string {
  return evidenceLabels[key] ?? humanize(key);
}
