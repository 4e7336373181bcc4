import { parseDuration } from '../src/core/duration.ts';
import { UsageError } from '../src/core/errors.ts';
import type { NodeInfo } from './capabilities.ts';
import type { PlanContext, ResolvedFault } from './types.ts';

/** Param validation helpers: every error names the fault kind and the param, before anything changes. */
const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export class Params {
  private readonly used = new Set<string>();

  constructor(
    private readonly raw: Record<string, unknown>,
    private readonly fault: ResolvedFault,
  ) {}

  fail(name: string, msg: string): never {
    throw new UsageError(`fault ${this.fault.kind}: param ${name}: ${msg}`, {
      field: `params.${name}`,
      node: this.fault.node,
    });
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== '';
  }

  private get(name: string): unknown {
    this.used.add(name);
    return this.raw[name];
  }

  /** Milliseconds from "150ms", "2s", a number of ms. */
  duration(name: string, dflt?: number, opts: { min?: number; max?: number } = {}): number {
    const v = this.get(name);
    if (v === undefined || v === '') {
      if (dflt === undefined) this.fail(name, 'is required');
      return dflt;
    }
    if (typeof v === 'string' && v.trim().startsWith('-'))
      this.fail(name, `must not be negative, got "${v}"`);
    if (typeof v === 'number' && v < 0) this.fail(name, `must not be negative, got ${v}`);
    let ms: number;
    try {
      ms = parseDuration(v as string | number, name);
    } catch (e) {
      this.fail(name, (e as Error).message);
    }
    if (opts.min !== undefined && ms < opts.min)
      this.fail(name, `must be at least ${opts.min} ms, got ${ms} ms`);
    if (opts.max !== undefined && ms > opts.max)
      this.fail(name, `must be at most ${opts.max} ms, got ${ms} ms`);
    return ms;
  }

  number(
    name: string,
    dflt: number | undefined,
    opts: { min?: number; max?: number; int?: boolean } = {},
  ): number {
    const v = this.get(name);
    if (v === undefined || v === '') {
      if (dflt === undefined) this.fail(name, 'is required');
      return dflt;
    }
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) this.fail(name, `must be a number, got "${show(v)}"`);
    if (opts.int && !Number.isInteger(n)) this.fail(name, `must be a whole number, got ${n}`);
    if (opts.min !== undefined && n < opts.min) this.fail(name, `must be ≥ ${opts.min}, got ${n}`);
    if (opts.max !== undefined && n > opts.max) this.fail(name, `must be ≤ ${opts.max}, got ${n}`);
    return n;
  }

  oneOf<T extends string>(name: string, values: readonly T[], dflt: T): T {
    const v = this.get(name);
    if (v === undefined || v === '') return dflt;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
      this.fail(name, `must be one of ${values.join(', ')}, got "${show(v)}"`);
    return v as T;
  }

  bool(name: string, dflt: boolean): boolean {
    const v = this.get(name);
    if (v === undefined || v === '') return dflt;
    if (v === true || v === 'true' || v === '1' || v === 'yes') return true;
    if (v === false || v === 'false' || v === '0' || v === 'no') return false;
    return this.fail(name, `must be true or false, got "${show(v)}"`);
  }

  /** The raw value (marks the param as known). */
  value(name: string): unknown {
    return this.get(name);
  }

  string(name: string): string | undefined {
    const v = this.get(name);
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') this.fail(name, `must be a string, got ${typeof v}`);
    return v;
  }

  /** Bits per second from "64kbps", "1mbit", "500kbit", "2Mbps", "100KB/s" (bytes), a number (bit/s). */
  rate(name: string): number {
    const v = this.get(name);
    if (v === undefined || v === '') this.fail(name, 'is required');
    let bps: number;
    if (typeof v === 'number') bps = v;
    else if (typeof v === 'string') {
      const m = /^(-?\d+(?:\.\d+)?)\s*([kKmMgG]?)(bps|bit|bit\/s|b\/s|Bps|B\/s)?$/.exec(v.trim());
      if (!m) this.fail(name, `cannot read "${v}" as a rate (use e.g. 64kbps, 1mbit, 100KB/s)`);
      const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
      const bytes = m[3] === 'Bps' || m[3] === 'B/s';
      bps = Number(m[1]) * mult * (bytes ? 8 : 1);
    } else this.fail(name, `must be a rate like 64kbps, got ${typeof v}`);
    if (!(bps > 0)) this.fail(name, `must be greater than 0, got "${show(v)}"`);
    return bps;
  }

  /** Unknown params are errors too (a typo must not silently do nothing). */
  done(): void {
    const unknown = Object.keys(this.raw).filter((k) => !this.used.has(k));
    if (unknown.length)
      this.fail(
        unknown[0]!,
        `unknown param "${unknown[0]}" (this fault takes: ${[...this.used].join(', ') || 'none'})`,
      );
  }
}

export function requireEdge(fault: ResolvedFault, ctx: PlanContext): NodeInfo {
  const n = nodeOf(fault, ctx);
  if (n.role !== 'edge')
    throw new UsageError(`fault ${fault.kind} applies to edge nodes, not ${fault.node}`, {
      node: fault.node,
    });
  return n;
}

export function nodeOf(fault: ResolvedFault, ctx: PlanContext): NodeInfo {
  const n = ctx.nodes.find((x) => x.name === fault.node);
  if (!n)
    throw new UsageError(
      `fault ${fault.kind}: no node "${fault.node}" (nodes: ${ctx.nodes.map((x) => x.name).join(', ')})`,
      {
        node: fault.node,
      },
    );
  return n;
}

/** nft/toxic-safe name from the fault id. */
export function faultTag(fault: ResolvedFault): string {
  return `ec_${fault.id.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 24)}`;
}
