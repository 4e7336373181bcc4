import { ScenarioError } from '../../core/errors.ts';

/** IPv4 helpers for the local target's addressing (pure). */
export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  base: number;
  bits: number;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || Number(m[2]) > 30)
    throw new ScenarioError(`subnet "${text}" is not an IPv4 CIDR like 10.77.0.0/16`, { field: 'subnet' });
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ipToInt(m[1]!) & mask) >>> 0, bits };
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.bits}`;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const size = (c: Cidr): number => 2 ** (32 - c.bits);
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** Private ranges only: the local target never puts addresses it could route to the outside world. */
export function isPrivate(c: Cidr): boolean {
  return [parseCidr('10.0.0.0/8'), parseCidr('172.16.0.0/12'), parseCidr('192.168.0.0/16')].some(
    (p) => c.bits >= p.bits && overlaps(c, p),
  );
}

/**
 * The run's own network: from `pool` (default 10.77.0.0/16), the first /24 (or the pool itself when it
 * is /24 or smaller) that overlaps no route the host already has, so concurrent runs do not collide.
 */
export function pickRunSubnet(pool: string, routes: readonly string[]): Cidr {
  const p = parseCidr(pool);
  if (!isPrivate(p))
    throw new ScenarioError(`subnet ${pool} is not a private (RFC 1918) range`, { field: 'subnet' });
  const taken = routes.map((r) => {
    try {
      return parseCidr(r.includes('/') ? r : `${r}/32`);
    } catch {
      return undefined;
    }
  });
  const bits = Math.max(p.bits, 24);
  const count = 2 ** (bits - p.bits);
  for (let i = 0; i < count; i++) {
    const c = { base: (p.base + i * 2 ** (32 - bits)) >>> 0, bits };
    if (!taken.some((t) => t && t.bits > 0 && overlaps(t, c))) return c;
  }
  throw new ScenarioError(`no free /${bits} left in ${pool} (other runs hold them)`, { field: 'subnet' });
}

/** Addresses inside a run subnet: .1 the client side (bridge), .2 cloud, .10+n edge n. */
export interface RunAddresses {
  cidr: Cidr;
  prefixLen: number;
  client: string;
  cloud: string;
  edge(index: number): string;
}

export function runAddresses(cidr: Cidr, edges: number): RunAddresses {
  const hosts = 2 ** (32 - cidr.bits) - 2;
  if (edges + 10 > hosts)
    throw new ScenarioError(
      `subnet ${formatCidr(cidr)} has room for ${Math.max(0, hosts - 10)} edge nodes, not ${edges}`,
      {
        field: 'subnet',
      },
    );
  return {
    cidr,
    prefixLen: cidr.bits,
    client: intToIp(cidr.base + 1),
    cloud: intToIp(cidr.base + 2),
    edge: (i) => intToIp(cidr.base + 10 + i),
  };
}
