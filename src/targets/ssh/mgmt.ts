/**
 * The harness's own management SSH survives partitions and flaps (pure). Both faults write nft tables
 * whose chains are named `in` (hook input) and `out` (hook output), created with `policy accept;` and
 * then given drop rules (partition: in the chain definition; flap: `add rule` when the link goes down,
 * `flush chain` when it comes up). The ssh target puts one accept rule for the management connection
 * first in each chain, and again after every flush, so the drop rules never see it:
 *
 * - on a board: `ip saddr <harness as the board sees it> tcp dport <sshd port> accept` (in) and
 *   `ip daddr <harness> tcp sport <sshd port> accept` (out);
 * - on a local cloud (the harness machine): the same towards the boards' sshd ports, the other way round.
 *
 * Only that one TCP port of that one address is spared: the stack's own traffic (HTTP, sync) is cut
 * exactly as before. A tbf bandwidth cap still slows the management connection (it shapes the device).
 */
export interface MgmtExemption {
  /** Rule text (without `accept`) matching management packets the node receives / sends. */
  in: string;
  out: string;
}

const set = (xs: readonly (string | number)[]): string =>
  xs.length === 1 ? String(xs[0]) : `{ ${xs.join(', ')} }`;

/** On a board reached from `client` (its SSH_CLIENT address) on its sshd `port`. */
export function boardExemption(client: string, port: number): MgmtExemption {
  return { in: `ip saddr ${client} tcp dport ${port}`, out: `ip daddr ${client} tcp sport ${port}` };
}

/** On the harness machine (a local cloud), towards the boards it manages over SSH. */
export function harnessExemption(
  boards: readonly { address: string; port: number }[],
): MgmtExemption | undefined {
  const ipv4 = boards.filter((b) => /^\d{1,3}(\.\d{1,3}){3}$/.test(b.address));
  if (!ipv4.length) return undefined;
  const addrs = [...new Set(ipv4.map((b) => b.address))];
  const ports = [...new Set(ipv4.map((b) => b.port))];
  return {
    in: `ip saddr ${set(addrs)} tcp sport ${set(ports)}`,
    out: `ip daddr ${set(addrs)} tcp dport ${set(ports)}`,
  };
}

/** The nft script with the exemption first in every `in`/`out` chain and after every flush of one. */
export function exemptManagement(script: string, ex: MgmtExemption): string {
  const rule = (chain: 'in' | 'out'): string => `${chain === 'in' ? ex.in : ex.out} accept;`;
  return script
    .split('\n')
    .flatMap((line) => {
      const def = /^(\s*chain (in|out) \{ type filter hook (input|output) [^}]*?policy accept;)(.*)$/.exec(
        line,
      );
      if (def) return [`${def[1]} ${rule(def[2] as 'in' | 'out')}${def[4]}`];
      const flush = /^\s*flush chain inet (\S+) (in|out)\s*$/.exec(line);
      if (flush) {
        const r = rule(flush[2] as 'in' | 'out');
        return [line, `add rule inet ${flush[1]} ${flush[2]} ${r.slice(0, -1)}`];
      }
      return [line];
    })
    .join('\n');
}
