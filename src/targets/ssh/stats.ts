import type { NodeStats } from '../types.ts';

/** Split `statsScript` output ("== FILE" headers) into file → contents (pure). */
export function parseDump(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let cur: string | undefined;
  const buf: string[] = [];
  const flush = (): void => {
    if (cur !== undefined) out.set(cur, buf.join('\n').trim());
    buf.length = 0;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('== ')) {
      flush();
      cur = line.slice(3);
    } else buf.push(line);
  }
  flush();
  return out;
}

const kv = (s: string | undefined): Record<string, number> =>
  Object.fromEntries(
    (s ?? '')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [k, v] = l.trim().split(/\s+/);
        return [k ?? '', Number(v)];
      }),
  );

const base = (f: string): string => f.slice(f.lastIndexOf('/') + 1);

/** NodeStats from a dump of the node's cgroup files, v1 or v2 (pure). */
export function parseCgroupStats(dump: Map<string, string>, version: 'v1' | 'v2'): NodeStats {
  const byName = new Map([...dump].map(([f, v]) => [base(f), v]));
  const num = (f: string): number => {
    const v = byName.get(f);
    const n = v === undefined || v === '' || v === 'max' ? NaN : Number(v);
    return n;
  };
  if (version === 'v2') {
    const cpu = kv(byName.get('cpu.stat'));
    const limit = num('memory.max');
    const current = num('memory.current');
    const peak = num('memory.peak');
    return {
      peakMemoryBytes: Number.isNaN(peak) ? current : peak,
      memoryBytes: current,
      memoryLimitBytes: Number.isNaN(limit) ? undefined : limit,
      cpuSeconds: (cpu['usage_usec'] ?? 0) / 1e6,
      throttledSeconds: (cpu['throttled_usec'] ?? 0) / 1e6,
      nrThrottled: cpu['nr_throttled'] ?? 0,
      oomKills: kv(byName.get('memory.events'))['oom_kill'] ?? 0,
    };
  }
  const cpu = kv(byName.get('cpu.stat'));
  const limit = num('memory.limit_in_bytes');
  return {
    peakMemoryBytes: num('memory.max_usage_in_bytes'),
    memoryBytes: num('memory.usage_in_bytes'),
    memoryLimitBytes: Number.isNaN(limit) || limit >= 2 ** 60 ? undefined : limit,
    cpuSeconds: num('cpuacct.usage') / 1e9,
    throttledSeconds: (cpu['throttled_time'] ?? 0) / 1e9,
    nrThrottled: cpu['nr_throttled'] ?? 0,
    oomKills: kv(byName.get('memory.oom_control'))['oom_kill'] ?? 0,
  };
}

/** Exit records "<status> <board ns>" per node from the run/*.exits dump (pure). */
export function parseExits(dump: Map<string, string>): Map<string, { status: number; boardMs: number }[]> {
  const out = new Map<string, { status: number; boardMs: number }[]>();
  for (const [file, text] of dump) {
    const node = base(file).replace(/\.exits$/, '');
    const rows = text
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((p) => p.length === 2 && /^\d+$/.test(p[0]!) && /^\d+$/.test(p[1]!))
      .map((p) => ({ status: Number(p[0]), boardMs: Number(BigInt(p[1]!) / 1_000_000n) }));
    out.set(node, rows);
  }
  return out;
}

const signalNames: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  15: 'SIGTERM',
};

/** A shell `wait` status as (code, signal): > 128 means killed by signal status − 128. */
export function decodeStatus(status: number): { code: number | null; signal: NodeJS.Signals | null } {
  if (status > 128 && status - 128 in signalNames) return { code: null, signal: signalNames[status - 128]! };
  return { code: status, signal: null };
}
