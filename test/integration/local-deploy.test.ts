import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CleanupRegistry } from '../../src/core/cleanup/registry.ts';
import { sleep } from '../../src/core/deadline.ts';
import { isAlive, processStartTime } from '../../src/core/proc.ts';
import { loadStack, type StackManifest } from '../../src/stack/manifest.ts';
import { localNames } from '../../src/targets/local/names.ts';
import { LocalTarget } from '../../src/targets/local/target.ts';
import { cli, deployed, ownDirsEnv } from '../helpers/cli.ts';

// These tests cover the process runtime (board cgroup.procs hold the agent, `command` overrides);
// the container runtime (--runtime oci, the default for manifests with images) is tested in oci-*.test.ts.
process.env['EDGECHAOS_RUNTIME'] = 'process';

/** Everything a run named `runId` could have left on the machine. */
function traces(runId: string, bridge?: string): string[] {
  const out: string[] = [];
  out.push(
    ...readdirSync('/run/netns')
      .filter((f) => f.includes(runId))
      .map((f) => `netns ${f}`),
  );
  for (const c of ['cpu', 'cpuacct', 'memory', 'freezer'])
    out.push(
      ...readdirSync(`/sys/fs/cgroup/${c}`)
        .filter((f) => f.includes(runId))
        .map((f) => `cgroup ${c}/${f}`),
    );
  if (bridge && readFileSync('/proc/net/dev', 'utf8').includes(`${bridge}:`)) out.push(`link ${bridge}`);
  // Bridge and host-side veths all start with ec<tag>.
  const tag = `ec${localNames(runId).tag}`;
  for (const l of readFileSync('/proc/net/dev', 'utf8').split('\n'))
    if (l.trim().startsWith(tag)) out.push(`link ${l.trim().split(':')[0]}`);
  return out;
}

/** A stack whose edge and hub are one Node.js script (any stack that follows the contract). */
function nodeScriptStack(server: string): StackManifest {
  const role = { command: [process.execPath, '-e', server], env: {}, port: 7070, health: '/healthz' };
  return {
    name: 'node-script',
    version: 'dev',
    edge: role,
    hub: { ...role, port: 7071 },
    images: {},
    file: 'inline',
  };
}

describe('local target: deploy and tear down', () => {
  it('should deploy detached with `edgechaos deploy` and leave nothing after `edgechaos destroy`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-deploy-'));
    const env = ownDirsEnv(dir);
    let runId: string | undefined;
    try {
      const info = await deployed(['--nodes', '2', '--profile', 'rpi-zero'], env);
      runId = info.runId;
      // The deploy command has exited; the stack keeps running.
      for (const n of info.nodes) assert.equal((await fetch(`${n.url}/healthz`)).status, 200, n.name);
      const state = JSON.parse(readFileSync(join(dir, 'state', 'deployments', `${runId}.json`), 'utf8')) as {
        bridge: string;
        toxiproxyPid: number;
      };
      const toxi = { pid: state.toxiproxyPid, startTime: processStartTime(state.toxiproxyPid)! };
      assert.equal(isAlive(toxi), true);
      assert.ok(traces(runId, state.bridge).length >= 3 * 5);

      // `cleanup` spares a detached deployment that is still running.
      const c = await cli(['cleanup', '--json'], env);
      assert.equal(c.code, 0, c.err);
      const runs = (JSON.parse(c.out) as { runs: { runId: string; skipped?: string }[] }).runs;
      assert.match(runs.find((r) => r.runId === runId)?.skipped ?? '', /still running/);
      assert.equal((await fetch(`${info.nodes[1]!.url}/healthz`)).status, 200);

      const x = await cli(['destroy', '--run', runId, '--json'], env);
      assert.equal(x.code, 0, x.err);
      assert.deepEqual((JSON.parse(x.out) as { failed: unknown[] }).failed, []);
      assert.deepEqual(traces(runId, state.bridge), []);
      assert.equal(isAlive(toxi), false, 'toxiproxy stopped');
      assert.equal(existsSync(join(dir, 'state', 'deployments', `${runId}.json`)), false);
      assert.equal(existsSync(join(dir, 'reports', runId, 'logs', 'edge-1.log')), true, 'logs are kept');
      assert.equal(existsSync(join(dir, 'reports', runId, 'data')), false, 'data dirs removed');
    } finally {
      if (runId) await cli(['destroy', '--run', runId], env);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should run any stack that follows the contract (a Node.js script here) and count uplink bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-anystack-'));
    const runId = `tas${process.pid}`;
    // Edge: /healthz, and /ping which calls CLOUD_URL/healthz (through the uplink proxy).
    const server = `
      const http = require('node:http');
      const [host, port] = (process.env.EDGE_LISTEN || process.env.HUB_LISTEN).split(':');
      http.createServer(async (req, res) => {
        if (req.url === '/ping') {
          try { const r = await fetch(process.env.CLOUD_URL + '/healthz'); res.end(String(r.status)); }
          catch (e) { res.statusCode = 502; res.end(String(e)); }
          return;
        }
        res.end(process.env.EDGE_NODE_ID || 'hub');
      }).listen(Number(port), host);`;
    const stack = nodeScriptStack(server);
    const reg = CleanupRegistry.open(runId, join(dir, 'state'));
    let bridge: string | undefined;
    try {
      await using dep = await new LocalTarget().deploy(
        stack,
        { edges: [{ name: 'edge-1', profile: 'custom:cpus=1,memory=1GiB,latency=60ms' }] },
        { runId, runDir: join(dir, 'run'), registry: reg },
      );
      bridge = dep.state.bridge;
      const t0 = performance.now();
      assert.equal(await (await fetch(`${dep.edges[0]!.url}/ping`)).text(), '200');
      assert.ok(performance.now() - t0 >= 55, "the profile's default uplink latency applies");
      assert.equal(await (await fetch(`${dep.edges[0]!.url}/healthz`)).text(), 'edge-1');
      const before = await dep.uplinkBytes('edge-1');
      assert.equal(await (await fetch(`${dep.edges[0]!.url}/ping`)).text(), '200', 'edge → its proxy → hub');
      await sleep(50);
      const afterPing = await dep.uplinkBytes('edge-1');
      assert.ok(
        afterPing.sent > before.sent && afterPing.received > before.received,
        JSON.stringify({ before, afterPing }),
      );
      const s = await dep.stats('edge-1');
      assert.ok(
        s.peakMemoryBytes > 1e6 && s.cpuSeconds > 0 && s.memoryLimitBytes === 2 ** 30,
        JSON.stringify(s),
      );
    } finally {
      await reg.close();
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(traces(runId, bridge), []);
  });

  it('should give deploys started in the same instant different /24s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-concurrent-'));
    const server = `require('node:http').createServer((q, r) => r.end('ok')).listen(Number((process.env.EDGE_LISTEN || process.env.HUB_LISTEN).split(':')[1]), (process.env.EDGE_LISTEN || process.env.HUB_LISTEN).split(':')[0]);`;
    const stack = nodeScriptStack(server);
    const runIds = [0, 1, 2].map((i) => `tcc${i}${process.pid}`);
    const regs = runIds.map((id) => CleanupRegistry.open(id, join(dir, 'state')));
    try {
      // the same pool, all at once: without the lock, each would see the same free /24
      const deps = await Promise.all(
        runIds.map((runId, i) =>
          new LocalTarget().deploy(
            stack,
            { edges: [{ name: 'edge-1', profile: 'x86-edge' }], subnet: '10.79.0.0/16' },
            { runId, runDir: join(dir, runId), registry: regs[i]! },
          ),
        ),
      );
      try {
        const subnets = deps.map((d) => d.state.subnet);
        assert.equal(new Set(subnets).size, 3, subnets.join(' '));
        for (const d of deps) assert.equal((await fetch(`${d.edges[0]!.url}/healthz`)).status, 200);
      } finally {
        for (const d of deps) await d.teardown();
      }
    } finally {
      for (const r of regs) await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
    for (const id of runIds) assert.deepEqual(traces(id), []);
  });

  it('should tear down what it created when a stack never becomes healthy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-baddeploy-'));
    const runId = `tbd${process.pid}`;
    const good = await loadStack();
    const stack: StackManifest = { ...good, edge: { ...good.edge, command: ['/bin/false'] } };
    const reg = CleanupRegistry.open(runId, join(dir, 'state'));
    try {
      await assert.rejects(
        new LocalTarget().deploy(
          stack,
          { edges: [{ name: 'edge-1' }] },
          { runId, runDir: join(dir, 'run'), registry: reg },
        ),
        /edge-1: stack process exited .* before it was healthy/,
      );
      assert.deepEqual(reg.pending(), [], 'every created resource was reverted');
      assert.deepEqual(traces(runId), []);
    } finally {
      await reg.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
