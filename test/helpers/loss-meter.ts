import { createSocket } from 'node:dgram';
import type { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sleep } from '../../src/core/deadline.ts';
import type { LocalDeployment } from '../../src/targets/local/deployment.ts';

/**
 * How many of `count` UDP datagrams from the client side reach `node`: counted by an nft counter in
 * the node's namespace after the loss chain (its table journaled in `reg`, removed after). For the
 * loss fault's measured rate (integration test and bench/faults.ts).
 */
export async function deliveredUdp(
  dep: LocalDeployment,
  node: string,
  reg: CleanupRegistry,
  count: number,
): Promise<number> {
  const address = dep.local(node).address;
  const sh = dep.shell(node);
  const table = `ec_meas${process.pid}`;
  const u = sh.undoEntry(['nft', 'delete', 'table', 'inet', table]);
  const h = reg.add(u.kind, 'loss measurement counter', u.data);
  await sh.exec(['nft', '-f', '-'], {
    input: `table inet ${table} {\n counter rx { }\n chain in { type filter hook input priority 10; policy accept; ip saddr ${dep.state.client} udp dport 9 counter name "rx"; }\n}\n`,
  });
  try {
    const sock = createSocket('udp4');
    const payload = Buffer.alloc(32);
    for (let i = 0; i < count; i++) {
      await new Promise<void>((res, rej) => sock.send(payload, 9, address, (e) => (e ? rej(e) : res())));
      if (i % 50 === 49) await sleep(1);
    }
    sock.close();
    await sleep(200);
    const r = await sh.exec(['nft', '-j', 'list', 'counter', 'inet', table, 'rx']);
    const doc = JSON.parse(r.stdout) as { nftables: { counter?: { packets: number } }[] };
    return doc.nftables.find((x) => x.counter)!.counter!.packets;
  } finally {
    await h.revert();
  }
}
