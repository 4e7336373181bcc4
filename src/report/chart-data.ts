import type { RunRecord, SeriesPoint } from '../campaign/record.ts';
import { percentile } from '../load/summary.ts';
import type { Sample } from '../load/types.ts';

/** One line of a chart; `node` ties its colour to the node's fault shading. */
export interface ChartLine {
  label: string;
  node?: string;
  values: (number | null)[];
}

/** A vertical marker (heal, convergence) in seconds since load start. */
export interface ChartMarker {
  x: number;
  label: string;
}

/** Data for one uPlot chart: x in seconds since the load started, columns aligned with x. */
export interface Chart {
  id: string;
  title: string;
  /** What the chart shows and how to read it. */
  caption: string;
  unit: string;
  x: number[];
  lines: ChartLine[];
  markers: ChartMarker[];
  /** Shade fault windows on this chart. */
  faults: boolean;
}

export interface ChartFault {
  id: string;
  kind: string;
  node: string;
  /** seconds since load start */
  start: number;
  end: number;
  /** Row of its bar above the charts: each node has its own rows, split only where its faults overlap. */
  lane: number;
}

export interface ChartData {
  /** Nodes in colour order (edges first, then cloud). */
  nodes: string[];
  faults: ChartFault[];
  /** Number of fault bar rows above each chart. */
  lanes: number;
  charts: Chart[];
}

/**
 * Charts whose x is a list of names (criteria, runs), not time: the comparison page's. Drawn by the
 * same chart script (no fault shading, no nodes).
 */
export interface NamedChart {
  id: string;
  title: string;
  unit: string;
  xFormat: 'index';
  xNames: string[];
  height: number;
  x: number[];
  lines: (ChartLine & { color?: string; dots?: boolean })[];
  markers: ChartMarker[];
  faults: false;
}

export interface NamedChartData {
  nodes: string[];
  faults: ChartFault[];
  palette: readonly string[];
  charts: NamedChart[];
}

/**
 * Pure: a row per fault so that overlapping faults never share one: nodes in colour order, each node's
 * faults packed greedily by start time into as few rows as its overlaps need (intervals touching at an
 * end share a row).
 */
export function assignLanes(
  nodes: readonly string[],
  faults: readonly Omit<ChartFault, 'lane'>[],
): { faults: ChartFault[]; lanes: number } {
  const laneOf = new Map<string, number>();
  let lanes = 0;
  const order = [...new Set([...nodes, ...faults.map((f) => f.node)])];
  for (const node of order) {
    const ends: number[] = [];
    const mine = faults
      .filter((f) => f.node === node)
      .sort((a, b) => a.start - b.start || a.end - b.end || a.id.localeCompare(b.id));
    for (const f of mine) {
      let row = ends.findIndex((e) => e <= f.start);
      if (row < 0) row = ends.push(f.end) - 1;
      else ends[row] = f.end;
      laneOf.set(f.id, lanes + row);
    }
    lanes += ends.length;
  }
  return { faults: faults.map((f) => ({ ...f, lane: laneOf.get(f.id) ?? 0 })), lanes };
}

const sec = (ms: number): number => Math.round(ms / 100) / 10;

/** Pure: a run record (and its load samples, when kept) → the columns of every chart in the report. */
export function buildChartData(rec: RunRecord, samples?: readonly Sample[]): ChartData {
  const edges = rec.nodes.filter((n) => n.role === 'edge').map((n) => n.name);
  const others = rec.nodes.filter((n) => n.role !== 'edge').map((n) => n.name);
  const nodes = [...edges, ...others];
  for (const f of rec.faults) if (!nodes.includes(f.node)) nodes.push(f.node);
  const loadEnd = rec.phases.find((p) => p.name === 'load')?.end ?? rec.load.summary?.durationMs ?? 0;
  const heal = rec.phases.find((p) => p.name === 'heal');
  const { faults, lanes } = assignLanes(
    nodes,
    rec.faults.map((f) => ({
      id: f.id,
      kind: f.kind,
      node: f.node,
      start: sec(f.start),
      end: sec(f.end ?? heal?.start ?? loadEnd),
    })),
  );
  // Crashes and restarts are what people look for next to an error spike.
  const events: ChartMarker[] = rec.timeline
    .filter((e) => e.kind === 'process-exit')
    .map((e) => ({ x: sec(e.t), label: `${e.node ?? ''} exited`.trim() }));
  const charts: Chart[] = loadCharts(rec, samples).map((c) => ({ ...c, markers: [...events] }));
  charts.push(
    nodeChart(
      'pending',
      'Sync backlog',
      'Records pending upload on each edge (GET /v1/status). A partitioned edge should queue and drain after heal.',
      'records',
      rec.series.pending,
      (pts) => pts,
      -Infinity,
      events,
    ),
    nodeChart(
      'cpu',
      'CPU per node',
      'CPU used by each edge agent (cgroup), in cores, averaged between samples.',
      'cores',
      rec.series.cpu,
      cpuRate,
    ),
    nodeChart(
      'memory',
      'Memory per node',
      'Memory of each edge agent (cgroup memory.current), MiB.',
      'MiB',
      rec.series.memory,
      (pts) => pts.map((p) => ({ t: p.t, v: p.v / 1048576 })),
    ),
  );
  const conv = convergenceChart(rec, heal);
  if (conv) charts.push(conv);
  return { nodes, faults, lanes, charts };
}

function loadCharts(rec: RunRecord, samples: readonly Sample[] | undefined): Chart[] {
  const http = samples?.filter((s): s is Extract<Sample, { type: 'http' }> => s.type === 'http') ?? [];
  const base = { unit: '', markers: [], faults: true };
  if (http.length > 0) {
    // Per second and per node from the raw samples.
    const byNode = new Map<string, Map<number, number[]>>();
    const errs = new Map<string, Map<number, number>>();
    const all = new Map<number, number[]>();
    let last = 0;
    for (const s of http) {
      const k = Math.floor(s.t / 1000);
      if (k > last) last = k;
      const node = s.node ?? 'other';
      let m = byNode.get(node);
      if (!m) byNode.set(node, (m = new Map<number, number[]>()));
      push(m, k, s.duration);
      push(all, k, s.duration);
      if (!s.ok) {
        let e = errs.get(node);
        if (!e) errs.set(node, (e = new Map<number, number>()));
        e.set(k, (e.get(k) ?? 0) + 1);
      }
    }
    const x = range(last + 1);
    const nodes = [...byNode.keys()].sort();
    const totalReq = x.map((k) => all.get(k)?.length ?? 0);
    return [
      {
        ...base,
        id: 'requests',
        title: 'Request rate',
        caption: 'Requests per second sent by the load runner, in total and per edge; shaded: fault windows.',
        unit: 'req/s',
        x,
        lines: [
          { label: 'total', values: totalReq },
          ...nodes.map((n) => ({
            label: n,
            node: n,
            values: x.map((k) => byNode.get(n)?.get(k)?.length ?? 0),
          })),
        ],
      },
      {
        ...base,
        id: 'errors',
        title: 'Error rate',
        caption: 'Share of requests per second that failed (no answer, or not 2xx), per edge.',
        unit: '%',
        x,
        lines: nodes.map((n) => ({
          label: n,
          node: n,
          values: x.map((k) => {
            const count = byNode.get(n)?.get(k)?.length ?? 0;
            return count ? (100 * (errs.get(n)?.get(k) ?? 0)) / count : null;
          }),
        })),
      },
      {
        ...base,
        id: 'latency',
        title: 'p99 latency',
        caption: '99th percentile of request duration per second, per edge (ms).',
        unit: 'ms',
        x,
        lines: nodes.map((n) => ({
          label: n,
          node: n,
          values: x.map((k) => {
            const d = byNode.get(n)?.get(k);
            return d?.length
              ? percentile(
                  d.sort((a, b) => a - b),
                  99,
                )
              : null;
          }),
        })),
      },
    ];
  }
  const series = rec.load.summary?.series ?? [];
  const x = series.map((p) => p.t);
  return [
    {
      ...base,
      id: 'requests',
      title: 'Request rate',
      caption: 'Requests per second sent by the load runner (all edges); shaded: fault windows.',
      unit: 'req/s',
      x,
      lines: [
        { label: 'requests', values: series.map((p) => p.requests) },
        { label: 'errors', values: series.map((p) => p.errors) },
      ],
    },
    {
      ...base,
      id: 'errors',
      title: 'Error rate',
      caption:
        'Share of requests per second that failed (all edges; per-edge detail needs load/samples.jsonl).',
      unit: '%',
      x,
      lines: [
        { label: 'errors', values: series.map((p) => (p.requests ? (100 * p.errors) / p.requests : null)) },
      ],
    },
    {
      ...base,
      id: 'latency',
      title: 'p99 latency',
      caption: '99th percentile of request duration per second, all edges (ms).',
      unit: 'ms',
      x,
      lines: [{ label: 'p99', values: series.map((p) => p.p99) }],
    },
  ];
}

/** Node-keyed series → one chart with a column per node on the union of sample times (0.1 s grid). */
function nodeChart(
  id: string,
  title: string,
  caption: string,
  unit: string,
  byNode: Record<string, SeriesPoint[]>,
  transform: (pts: SeriesPoint[]) => SeriesPoint[],
  from = -Infinity,
  markers: ChartMarker[] = [],
): Chart {
  const nodes = Object.keys(byNode).sort();
  const cols = new Map<string, Map<number, number>>();
  const xs = new Set<number>();
  for (const n of nodes) {
    const m = new Map<number, number>();
    for (const p of transform(byNode[n] ?? [])) {
      if (p.t < from) continue;
      const x = sec(p.t);
      m.set(x, p.v);
      xs.add(x);
    }
    cols.set(n, m);
  }
  const x = [...xs].sort((a, b) => a - b);
  return {
    id,
    title,
    caption,
    unit,
    x,
    lines: nodes.map((n) => ({ label: n, node: n, values: x.map((k) => cols.get(n)?.get(k) ?? null) })),
    markers: [...markers],
    faults: true,
  };
}

/** Cumulative CPU seconds → cores used between consecutive samples. */
function cpuRate(pts: SeriesPoint[]): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    const dt = (b.t - a.t) / 1000;
    if (dt > 0 && b.v >= a.v) out.push({ t: b.t, v: (b.v - a.v) / dt });
  }
  return out;
}

/** The backlog from shortly before heal to the end, with heal and convergence marked. */
function convergenceChart(rec: RunRecord, heal: { start: number } | undefined): Chart | undefined {
  if (!heal) return undefined;
  const lastCut = Math.max(
    -Infinity,
    ...rec.faults.filter((f) => f.kind === 'partition').map((f) => f.end ?? heal.start),
  );
  // Convergence is timed from heal; the partitions may have ended earlier (then show from there).
  const from = Math.min(heal.start, Number.isFinite(lastCut) ? lastCut : heal.start) - 5000;
  const chart = nodeChart(
    'convergence',
    'Convergence after heal',
    'Backlog per edge from just before the links came back until the end; the cloud ledger must end up holding every acknowledged write.',
    'records',
    rec.series.pending,
    (pts) => pts,
    from,
  );
  const converge = rec.metrics['sync.converge-ms'];
  chart.markers.push({ x: sec(heal.start), label: 'heal' });
  if (Number.isFinite(lastCut) && lastCut < heal.start)
    chart.markers.push({ x: sec(lastCut), label: 'partition ends' });
  if (converge)
    chart.markers.push({ x: sec(heal.start + converge.value), label: `converged +${converge.value} ms` });
  else chart.markers.push({ x: sec(heal.start), label: 'did not converge' });
  chart.faults = false;
  return chart.x.length ? chart : undefined;
}

function push(m: Map<number, number[]>, k: number, v: number): void {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
