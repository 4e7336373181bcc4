import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ScenarioError, TargetError } from '../../src/core/errors.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { redact } from '../../src/core/logger.ts';
import { estimateOffset, toHarnessMs } from '../../src/targets/ssh/clock.ts';
import { SshBoard, stressArgv, stressorOf } from '../../src/targets/ssh/board.ts';
import { cpuStressArgv } from '../../faults/cpu-stress.ts';
import { memoryStressArgv } from '../../faults/memory-stress.ts';
import { partitionScript } from '../../faults/partition.ts';
import { boardExemption, exemptManagement } from '../../src/targets/ssh/mgmt.ts';
import { classifySshFailure, type SshConnection } from '../../src/targets/ssh/connection.ts';
import { resolveInventory } from '../../src/targets/ssh/inventory.ts';
import { boardLayout, detachPrefix, statFiles } from '../../src/targets/ssh/layout.ts';
import { checkPreflight, parsePreflight, type BoardFacts } from '../../src/targets/ssh/preflight.ts';
import { sshRuntimes } from '../../src/targets/ssh/oci.ts';
import { remoteCommand, shellQuote } from '../../src/targets/ssh/remote-command.ts';
import { SshShell } from '../../src/targets/ssh/shell.ts';
import { renderSshConfig } from '../../src/targets/ssh/ssh-config.ts';
import {
  findSshState,
  removeSshState,
  saveSshState,
  type SshDeploymentState,
} from '../../src/targets/ssh/state.ts';
import { decodeStatus, parseCgroupStats, parseDump, parseExits } from '../../src/targets/ssh/stats.ts';
import {
  archVariant,
  bundledStressor,
  elfArch,
  localCloudAddress,
  mgmtOf,
  toxiproxyFor,
  uplinkDevOf,
} from '../../src/targets/ssh/target.ts';
import { scenarioErrorAt } from '../helpers/errors.ts';
import { tempDir } from '../helpers/temp.ts';

function keyIn(dir: string, name = 'id'): string {
  const p = join(dir, name);
  writeFileSync(p, 'not really a key');
  chmodSync(p, 0o600);
  return p;
}

const hosts = (key: string): Record<string, unknown>[] => [
  { name: 'cloud', role: 'cloud', host: '192.0.2.10', user: 'root', key, arch: 'arm64' },
  { name: 'edge-1', role: 'edge', host: '192.0.2.11', user: 'pi', key, arch: 'arm64', sudo: true },
];

function fails(fn: () => unknown, field: string, msg: RegExp): void {
  assert.throws(fn, scenarioErrorAt(field, msg, { describe: /inventory\.json: field / }));
}

describe('ssh inventory', () => {
  it('should accept a cloud and edges with keys relative to the inventory folder', () => {
    using d = tempDir('inv');
    keyIn(d.path);
    const inv = resolveInventory({ hosts: hosts('id'), safetyTtl: '4s' }, join(d.path, 'inventory.json'));
    assert.equal(inv.cloud.name, 'cloud');
    assert.deepEqual(
      inv.edges.map((e) => e.name),
      ['edge-1'],
    );
    assert.equal(inv.host('edge-1').keyPath, join(d.path, 'id'));
    assert.equal(inv.host('edge-1').netAddress, '192.0.2.11');
    assert.equal(inv.safetyTtlMs, 4000);
    assert.equal(inv.host('edge-1').dir, '/var/lib/edgechaos');
  });

  it('should accept the inventory example of the README', () => {
    const md = readFileSync(join(repoRoot, 'src/targets/ssh/README.md'), 'utf8');
    const example = /```json\n([\s\S]*?)\n```/.exec(md)?.[1];
    assert.ok(example, 'README has a json example');
    using d = tempDir('inv');
    mkdirSync(join(d.path, 'keys'));
    keyIn(join(d.path, 'keys'), 'id_ed25519');
    const inv = resolveInventory(JSON.parse(example), join(d.path, 'boards.json'));
    assert.deepEqual(
      inv.hosts.map((h) => `${h.name}/${h.arch}/${h.jump ? 'jump' : 'direct'}`),
      ['cloud/amd64/direct', 'edge-1/arm64/direct', 'edge-2/arm64/jump'],
    );
  });

  it('should name the file and field of each problem', () => {
    using d = tempDir('inv');
    const key = keyIn(d.path);
    const file = join(d.path, 'inventory.json');
    const edit = (f: (h: Record<string, unknown>[]) => void): unknown => {
      const h = hosts(key);
      f(h);
      return { hosts: h };
    };
    fails(
      () =>
        resolveInventory(
          edit((h) => (h[1]!['arch'] = 'armv6')),
          file,
        ),
      'hosts[1].arch',
      /amd64|arm64/,
    );
    fails(
      () =>
        resolveInventory(
          edit((h) => (h[1]!['key'] = 'missing')),
          file,
        ),
      'hosts[1].key',
      /does not exist/,
    );
    fails(
      () =>
        resolveInventory(
          edit((h) => delete h[1]!['key']),
          file,
        ),
      'hosts[1].key',
      /key file .* or agent/,
    );
    fails(
      () =>
        resolveInventory(
          edit((h) => (h[1]!['name'] = 'cloud')),
          file,
        ),
      'hosts[1].name',
      /twice/,
    );
    fails(
      () =>
        resolveInventory(
          edit((h) => (h[1]!['dir'] = 'relative')),
          file,
        ),
      'hosts[1].dir',
      /absolute/,
    );
    fails(
      () =>
        resolveInventory(
          edit((h) => (h[1]!['prot'] = 22)),
          file,
        ),
      'hosts[1].prot',
      /nrecognized/,
    );
    fails(
      () =>
        resolveInventory(
          edit((h) => (h[0]!['role'] = 'edge')),
          file,
        ),
      'hosts[0].role',
      /cloud/,
    );
    chmodSync(key, 0o644);
    fails(() => resolveInventory({ hosts: hosts(key) }, file), 'hosts[0].key', /too open/);
  });

  it('should take a cloud on the harness machine (local: true) and refuse what does not apply to it', () => {
    using d = tempDir('inv');
    const key = keyIn(d.path);
    const file = join(d.path, 'inventory.json');
    const withCloud = (cloud: Record<string, unknown>): unknown => ({ hosts: [cloud, hosts(key)[1]!] });
    const inv = resolveInventory(withCloud({ name: 'cloud', role: 'cloud', local: true }), file);
    assert.equal(inv.cloud.local, true);
    assert.equal(inv.cloud.netAddress, '', 'found at deploy');
    assert.equal(inv.host('edge-1').local, false);
    assert.doesNotMatch(
      renderSshConfig({ hosts: inv.hosts, dir: '/x', connectTimeoutMs: 1000 }),
      /Host ec-cloud/,
      'no ssh entry for the harness machine',
    );
    for (const k of ['host', 'user', 'key', 'arch', 'jump', 'sudo'] as const) {
      const extra = {
        host: '192.0.2.1',
        user: 'root',
        key,
        arch: 'amd64',
        jump: { host: '192.0.2.2', user: 'x' },
        sudo: true,
      }[k];
      fails(
        () => resolveInventory(withCloud({ name: 'cloud', role: 'cloud', local: true, [k]: extra }), file),
        `hosts[0].${k}`,
        new RegExp(`runs on the harness machine without SSH: remove ${k}`),
      );
    }
    fails(
      () =>
        resolveInventory({ hosts: [hosts(key)[0]!, { name: 'edge-1', role: 'edge', local: true }] }, file),
      'hosts[1].local',
      /cloud host only/,
    );
    fails(
      () => resolveInventory(withCloud({ name: 'cloud', role: 'cloud', local: false }), file),
      'hosts[0].local',
      /true/,
    );
    fails(
      () => resolveInventory(withCloud({ name: 'cloud', role: 'cloud', key }), file),
      'hosts[0].host',
      /host is required \(or local: true/,
    );
  });

  it('should find the address boards reach a local cloud at, or say why not', () => {
    using d = tempDir('inv');
    const key = keyIn(d.path);
    const file = join(d.path, 'inventory.json');
    const two = [...hosts(key), { ...hosts(key)[1]!, name: 'edge-2', host: '192.0.2.12' }];
    two[0] = { name: 'cloud', role: 'cloud', local: true };
    const inv = resolveInventory({ hosts: two }, file);
    const own = ['127.0.0.1', '10.1.0.1', '10.2.0.1'];
    const seen = (a: string | undefined, b: string | undefined) => [
      { host: inv.host('edge-1'), facts: { client: a } },
      { host: inv.host('edge-2'), facts: { client: b } },
    ];
    assert.equal(localCloudAddress(inv.cloud, seen('10.1.0.1', '10.1.0.1'), file, own), '10.1.0.1');
    fails(
      () => localCloudAddress(inv.cloud, seen('10.1.0.1', '10.2.0.1'), file, own),
      'hosts[0].address',
      /they see 10\.1\.0\.1, 10\.2\.0\.1.*give the local cloud an address/,
    );
    fails(
      () => localCloudAddress(inv.cloud, seen(undefined, '10.1.0.1'), file, own),
      'hosts[0].address',
      /cannot tell/,
    );
    fails(
      () => localCloudAddress(inv.cloud, seen('192.0.2.99', '192.0.2.99'), file, own),
      'hosts[0].address',
      /192\.0\.2\.99 is not an address of this machine/,
    );
    const given = resolveInventory({ hosts: [{ ...two[0], address: '10.2.0.1' }, two[1]!, two[2]!] }, file);
    assert.equal(localCloudAddress(given.cloud, seen('10.1.0.1', '10.2.0.1'), file, own), '10.2.0.1');
  });

  it('should register key paths as secrets so logs mask them', () => {
    using d = tempDir('inv');
    const key = keyIn(d.path, 'board_key_secret');
    resolveInventory({ hosts: hosts(key) }, join(d.path, 'inventory.json'));
    assert.equal(redact(`loading ${key} failed`), 'loading *** failed');
  });
});

describe('ssh commands and config', () => {
  it('should quote every argument for the board shell so argv stays argv', () => {
    assert.equal(shellQuote('nft'), 'nft');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('$(reboot)'), "'$(reboot)'");
    assert.equal(shellQuote(''), "''");
    assert.equal(remoteCommand(['nft', '-f', '-'], { sudo: true }), 'sudo -n -- nft -f -');
    assert.equal(remoteCommand(['sh', '-c', 'echo "$1"', 'x', 'a;b']), `sh -c 'echo "$1"' x 'a;b'`);
  });

  it('should put key paths, pinned host keys and the jump host into the config file, not argv', () => {
    using d = tempDir('inv');
    const key = keyIn(d.path);
    const h = hosts(key);
    h[1]!['jump'] = { host: 'bastion.example', user: 'ops', port: 2222 };
    h[1]!['hostKey'] = 'ssh-ed25519 AAAAC3Nza board-1';
    const inv = resolveInventory({ hosts: h }, join(d.path, 'inventory.json'));
    const cfg = renderSshConfig({ hosts: inv.hosts, dir: '/tmp/ecssh-x', connectTimeoutMs: 2500 });
    assert.match(cfg, /Host ec-edge-1\n {2}HostName 192\.0\.2\.11\n {2}Port 22\n {2}User pi\n/);
    assert.match(cfg, new RegExp(`IdentityFile ${key}`));
    assert.match(cfg, /Host ec-jump-edge-1\n {2}HostName bastion\.example\n {2}Port 2222\n {2}User ops/);
    assert.match(cfg, /ProxyJump ec-jump-edge-1/);
    assert.match(cfg, /ConnectTimeout 3/);
    assert.match(cfg, /StrictHostKeyChecking yes/);
    assert.match(cfg, /ControlPath \/tmp\/ecssh-x\/cm-%C/);
  });

  it('should tell authentication, reachability and host-key failures apart', () => {
    assert.equal(classifySshFailure('root@10.0.0.2: Permission denied (publickey).'), 'auth');
    assert.equal(
      classifySshFailure('ssh: connect to host 10.0.0.9 port 22: Connection timed out'),
      'unreachable',
    );
    assert.equal(
      classifySshFailure('ssh: connect to host 10.0.0.9 port 22: No route to host'),
      'unreachable',
    );
    assert.equal(classifySshFailure('Host key verification failed.'), 'host-key');
    assert.equal(classifySshFailure('something else'), 'other');
  });

  it('should find the device that carries the uplink', () => {
    assert.equal(uplinkDevOf('10.0.0.10 dev end0 src 10.0.0.31 uid 0 \\    cache '), 'end0');
    assert.equal(uplinkDevOf('10.0.0.10 via 10.0.0.1 dev wlan0 src 10.0.0.31'), 'wlan0');
    assert.equal(uplinkDevOf(''), undefined);
  });

  it('should pick the toxiproxy-server whose ELF header matches the cloud board arch', () => {
    using d = tempDir('tools');
    const elf = (path: string, machine: number): void => {
      mkdirSync(join(path, '..'), { recursive: true });
      const b = Buffer.alloc(64);
      b.write('\x7fELF', 0, 'latin1');
      b[4] = 2; // 64-bit
      b[5] = 1; // little endian
      b.writeUInt16LE(machine, 18);
      writeFileSync(path, b);
    };
    const native = join(d.path, 'bin', 'toxiproxy-server');
    const arm = join(d.path, 'bin', 'linux-arm64', 'toxiproxy-server');
    assert.equal(toxiproxyFor('arm64', d.path), undefined, 'nothing built');
    elf(native, 62);
    assert.equal(toxiproxyFor('amd64', d.path), native);
    assert.equal(toxiproxyFor('arm64', d.path), undefined, 'an x86-64 build is never sent to an arm64 board');
    elf(arm, 183);
    assert.equal(toxiproxyFor('arm64', d.path), arm);
    assert.equal(toxiproxyFor('amd64', d.path), native);
    assert.equal(elfArch(arm), 'arm64');
    elf(arm, 62);
    assert.equal(toxiproxyFor('arm64', d.path), undefined, 'a mislabelled linux-arm64 file is refused');
    writeFileSync(arm, '#!/bin/sh\n');
    assert.equal(elfArch(arm), undefined);
  });

  it('should pick the right-arch build of a stack binary', () => {
    assert.equal(
      archVariant('/r/stack/dist/bin/linux-amd64/edge-agent', 'arm64'),
      '/r/stack/dist/bin/linux-arm64/edge-agent',
    );
    assert.equal(
      archVariant('/r/stack/dist/bin/linux-arm64/edge-agent', 'amd64'),
      '/r/stack/dist/bin/linux-amd64/edge-agent',
    );
    assert.equal(archVariant('/opt/agent', 'arm64'), '/opt/agent');
  });
});

const preflightOut = (over: Record<string, string> = {}): string =>
  Object.entries({
    arch: 'aarch64',
    kernel: '6.6.31+rpt-rpi-v8',
    user: '0',
    client: '10.0.0.1',
    clock_ns: '1700000000123456789',
    has_nft: '1',
    has_tc: '1',
    has_setsid: '1',
    'has_stress-ng': '0',
    'has_systemd-run': '1',
    has_sha256sum: '1',
    systemd: '1',
    cgroupfs: 'cgroup2fs',
    cgroup_v2_controllers: 'cpuset cpu io memory pids',
    netem: '1',
    timens: '1',
    mem_available_kb: '3500000',
    disk_free_kb: '20000000',
    ...over,
  })
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');

describe('ssh preflight', () => {
  using d = tempDir('inv');
  const inv = resolveInventory({ hosts: hosts(keyIn(d.path)) }, join(d.path, 'inventory.json'));
  const edge = inv.host('edge-1');

  it('should read what a Raspberry Pi offers', () => {
    const f = parsePreflight(preflightOut());
    assert.equal(f.arch, 'arm64');
    assert.equal(f.cgroup, 'v2');
    assert.equal(f.netem, true);
    assert.equal(f.systemd, true);
    assert.equal(f.tools['stress-ng'], false);
    assert.equal(f.memAvailableBytes, 3500000 * 1024);
    assert.equal(f.client, '10.0.0.1');
    assert.equal(f.timens, true);
    const { warnings } = checkPreflight(edge, f, inv.file);
    assert.deepEqual(warnings, [
      'edge-1: stress-ng absent: cpu/memory stress use the bundled ec-stress',
      'edge-1: no OCI runtime (runc) on the board: the stack runs as a process here',
    ]);
    // a kernel without time namespaces: clock-skew is refused there, said at deploy
    const old = parsePreflight(preflightOut({ timens: '0', kernel: '5.4.0' }));
    assert.equal(old.timens, false);
    assert.match(
      checkPreflight(edge, old, inv.file).warnings[0]!,
      /^edge-1: no time namespaces \(kernel 5\.4\.0 .*clock-skew is refused/,
    );
    // preflight says which boards have an OCI runtime
    const withRunc = parsePreflight(preflightOut().replace(/has_sha256sum=1/, 'has_sha256sum=1\nhas_runc=1'));
    assert.equal(withRunc.tools.runc, true);
    assert.match(checkPreflight(edge, withRunc, inv.file).warnings.join('\n'), /runc present/);
  });

  it('should pick stress-ng where the board has it and the bundled ec-stress (same flags) otherwise', () => {
    const pi = parsePreflight(preflightOut());
    const withNg = parsePreflight(preflightOut({ 'has_stress-ng': '1' }));
    assert.equal(stressorOf(pi), 'ec-stress');
    assert.equal(stressorOf(withNg), 'stress-ng');
    const cpu = cpuStressArgv({ workers: 2, load: 40 }, 5000);
    const mem = memoryStressArgv({ bytes: 64 * 2 ** 20, workers: 1 }, undefined);
    assert.deepEqual(stressArgv(cpu, 'stress-ng', '/b/r/bin'), cpu);
    assert.deepEqual(stressArgv(cpu, 'ec-stress', '/b/r/bin'), [
      '/b/r/bin/ec-stress',
      '--cpu',
      '2',
      '--cpu-load',
      '40',
      '--cpu-method',
      'int64',
      '--timeout',
      '35s',
    ]);
    assert.deepEqual(stressArgv(mem, 'ec-stress', '/b/r/bin'), ['/b/r/bin/ec-stress', ...mem.slice(1)]);
    assert.deepEqual(stressArgv(['sleep', '5'], 'ec-stress', '/b/r/bin'), ['sleep', '5']);
    // The bundled binaries stack/build.sh made: one per board arch, checked in the ELF header.
    const dist = join(repoRoot, 'stack', 'dist');
    assert.equal(
      bundledStressor('amd64', dist),
      join(dist, 'bin', 'linux-amd64', 'ec-stress'),
      'run stack/build.sh',
    );
    assert.equal(
      bundledStressor('arm64', dist),
      join(dist, 'bin', 'linux-arm64', 'ec-stress'),
      'run stack/build.sh',
    );
    assert.equal(elfArch(bundledStressor('arm64', dist)!), 'arm64');
  });

  it('should refuse a board whose architecture is not the inventory one, naming the field', () => {
    const f = parsePreflight(preflightOut({ arch: 'x86_64' }));
    assert.throws(
      () => checkPreflight(edge, f, inv.file),
      (e: unknown) =>
        e instanceof ScenarioError &&
        e.field === 'hosts[1].arch' &&
        /x86_64 \(amd64\), the inventory says arm64/.test(e.message),
    );
  });

  it('should refuse boards that lack nft, cgroups or memory', () => {
    const bad = (o: Record<string, string>, re: RegExp): void =>
      assert.throws(
        () => checkPreflight(edge, parsePreflight(preflightOut(o)), inv.file),
        (e: unknown) => e instanceof TargetError && re.test(e.message),
      );
    bad({ has_nft: '0' }, /missing on the board: nft/);
    bad({ cgroupfs: 'tmpfs', cgroup_v1_memory: '0' }, /no cgroup filesystem/);
    bad({ mem_available_kb: '1000' }, /memory available/);
  });
});

describe('ssh runtime per board', () => {
  const stack = {
    file: '/s/edgechaos.stack.ts',
    edge: { command: ['/b/edge-agent'], image: '/i/edge.tar' },
    hub: { command: ['/b/cloud-hub'], image: '/i/hub.tar' },
  } as unknown as Parameters<typeof sshRuntimes>[0];
  const board = (name: string, role: 'edge' | 'cloud', runc: boolean) => ({
    host: { name, role },
    facts: { tools: { runc } as BoardFacts['tools'] },
  });
  const boards = [
    board('cloud', 'cloud', true),
    board('edge-1', 'edge', true),
    board('edge-2', 'edge', false),
  ];

  it('should run the image where the board has runc and fall back to the process with the reason where not', () => {
    const r = sshRuntimes(stack, boards, undefined);
    assert.equal(r.get('edge-1')?.runtime, 'oci');
    assert.deepEqual(r.get('edge-2'), {
      runtime: 'process',
      reason: 'no OCI runtime (runc) on the board: fell back to the process',
    });
    assert.equal(r.get('cloud')?.runtime, 'oci', 'the hub image on a cloud board with runc');
    const local = {
      ...board('cloud', 'cloud', true),
      host: { name: 'cloud', role: 'cloud' as const, local: true },
    };
    assert.match(sshRuntimes(stack, [local], undefined).get('cloud')!.reason, /harness machine/);
    assert.equal(
      sshRuntimes(stack, [board('cloud', 'cloud', false)], 'oci').get('cloud')?.runtime,
      'process',
    );
    // no edge image in the manifest: processes, said why
    const noImage = { ...stack, edge: { command: ['/b/edge-agent'] } } as typeof stack;
    assert.match(sshRuntimes(noImage, boards, undefined).get('edge-1')!.reason, /names no edge image/);
  });

  it('should force processes with --runtime process and refuse --runtime oci naming each board without runc', () => {
    for (const r of sshRuntimes(stack, boards, 'process').values())
      assert.deepEqual(r, { runtime: 'process', reason: '--runtime process' });
    assert.throws(
      () => sshRuntimes(stack, [...boards, board('edge-3', 'edge', false)], 'oci'),
      (e: unknown) => e instanceof TargetError && /no OCI runtime \(runc\) on edge-2, edge-3/.test(e.message),
    );
    assert.equal(sshRuntimes(stack, boards.slice(0, 2), 'oci').get('edge-1')?.runtime, 'oci');
  });
});

describe('ssh management exemption', () => {
  const ex = boardExemption('10.0.0.1', 2222);
  it('should put the accept rule first in both chains of a partition table', () => {
    const plain = partitionScript('ec_p', ['10.0.0.9'], {
      between: 'edge-cloud',
      direction: 'both',
      peer: undefined,
      action: 'drop',
    });
    const out = exemptManagement(plain, ex);
    assert.match(
      out,
      /chain in \{ type filter hook input priority -10; policy accept; ip saddr 10\.0\.0\.1 tcp dport 2222 accept; ip saddr \{ 10\.0\.0\.9 \} drop; \}/,
    );
    assert.match(
      out,
      /chain out \{ type filter hook output priority -10; policy accept; ip daddr 10\.0\.0\.1 tcp sport 2222 accept; ip daddr \{ 10\.0\.0\.9 \} drop; \}/,
    );
    const inOnly = exemptManagement(
      partitionScript('ec_p', ['10.0.0.9'], {
        between: 'edge-cloud',
        direction: 'in',
        peer: undefined,
        action: 'reject',
      }),
      ex,
    );
    assert.equal((inOnly.match(/accept;/g) ?? []).length - 1, 1, 'one exemption for the one chain');
  });

  it('should keep the exemption ahead of a flap through every flush', () => {
    const up = 'flush chain inet ec_f in\nflush chain inet ec_f out\n';
    assert.equal(
      exemptManagement(up, ex),
      'flush chain inet ec_f in\nadd rule inet ec_f in ip saddr 10.0.0.1 tcp dport 2222 accept\n' +
        'flush chain inet ec_f out\nadd rule inet ec_f out ip daddr 10.0.0.1 tcp sport 2222 accept\n',
    );
    const create =
      'create table inet ec_f\ntable inet ec_f {\n  chain in { type filter hook input priority -10; policy accept; }\n}\n';
    assert.match(
      exemptManagement(create, ex),
      /policy accept; ip saddr 10\.0\.0\.1 tcp dport 2222 accept; \}/,
    );
    const down = 'add rule inet ec_f in ip saddr { 10.0.0.9 } drop\n';
    assert.equal(exemptManagement(down, ex), down, 'drop rules are appended after it, untouched');
  });

  it('should spare the right connection per node', () => {
    using d = tempDir('inv');
    const key = keyIn(d.path);
    const hs = hosts(key);
    hs.push({
      ...hs[1]!,
      name: 'edge-2',
      host: '192.0.2.12',
      jump: { host: '192.0.2.10', user: 'root', port: 2200 },
    });
    const inv = resolveInventory({ hosts: hs }, join(d.path, 'inventory.json'));
    const facts = (client: string | undefined, sshPort?: number) => ({ client, sshPort });
    assert.deepEqual(
      mgmtOf({ host: inv.host('edge-1'), facts: facts('10.0.0.1', 22) }, []),
      boardExemption('10.0.0.1', 22),
    );
    assert.equal(
      mgmtOf({ host: inv.host('edge-1'), facts: facts(undefined) }, []),
      undefined,
      'sudo hid SSH_CLIENT',
    );
    assert.equal(
      mgmtOf({ host: inv.host('edge-2'), facts: facts('192.0.2.10') }, []),
      undefined,
      'port unknown behind a jump',
    );
    const local = resolveInventory(
      { hosts: [{ name: 'cloud', role: 'cloud', local: true }, hs[1]!, hs[2]!] },
      join(d.path, 'inventory.json'),
    );
    assert.deepEqual(
      mgmtOf(
        { host: local.cloud, facts: facts(undefined) },
        local.hosts.map((host) => ({ host })),
      ),
      {
        in: 'ip saddr { 192.0.2.11, 192.0.2.10 } tcp sport { 22, 2200 }',
        out: 'ip daddr { 192.0.2.11, 192.0.2.10 } tcp dport { 22, 2200 }',
      },
    );
  });
});

describe('ssh deployment state', () => {
  it('should pick the ssh deployment by id, or the newest one when it is newer than every local one', () => {
    using d = tempDir('state');
    const saved = process.env['EDGECHAOS_STATE_DIR'];
    process.env['EDGECHAOS_STATE_DIR'] = d.path;
    try {
      const st = (runId: string) =>
        ({ version: 1, target: 'ssh', runId, boards: [] }) as unknown as SshDeploymentState;
      assert.equal(findSshState(), undefined, 'nothing deployed');
      const a = saveSshState(st('dep-a'));
      assert.equal((statSync(a).mode & 0o777).toString(8), '600');
      assert.equal(findSshState()?.runId, 'dep-a');
      assert.equal(findSshState('dep-a')?.runId, 'dep-a');
      assert.equal(findSshState('dep-local'), undefined, 'an id that is not an ssh deployment');
      const local = join(d.path, 'deployments', 'dep-local.json');
      mkdirSync(join(d.path, 'deployments'));
      writeFileSync(local, '{}');
      utimesSync(local, new Date(Date.now() + 5000), new Date(Date.now() + 5000));
      assert.equal(findSshState(), undefined, 'a newer local deployment is the default');
      assert.equal(findSshState('dep-a')?.runId, 'dep-a', 'unless asked for by id');
      removeSshState('dep-a');
      assert.equal(findSshState('dep-a'), undefined);
    } finally {
      if (saved === undefined) delete process.env['EDGECHAOS_STATE_DIR'];
      else process.env['EDGECHAOS_STATE_DIR'] = saved;
    }
  });
});

describe('ssh clock offsets', () => {
  it('should trust the shortest round trip and map board times back to harness time', () => {
    const o = estimateOffset([
      { sentMs: 1000, receivedMs: 1100, boardMs: 1900 },
      { sentMs: 2000, receivedMs: 2010, boardMs: 2505 },
      { sentMs: 3000, receivedMs: 3040, boardMs: 3530 },
    ]);
    assert.equal(o.offsetMs, 500);
    assert.equal(o.uncertaintyMs, 5);
    assert.equal(toHarnessMs(10_500, o), 10_000);
  });
});

describe('ssh board files', () => {
  it('should lay a run out under the board folder with one cgroup per v1 controller', () => {
    const l = boardLayout('/var/lib/edgechaos/', 'run1', 'edge-1', {
      cgroup: 'v1',
      v1Controllers: ['cpu', 'cpuacct', 'memory', 'freezer'],
    });
    assert.equal(l.base, '/var/lib/edgechaos/run1');
    assert.equal(l.data, '/var/lib/edgechaos/run1/data/edge-1');
    assert.deepEqual(
      l.cgroups,
      ['cpu', 'cpuacct', 'memory', 'freezer'].map((c) => `/sys/fs/cgroup/${c}/ec-run1-edge-1`),
    );
    assert.equal(l.freezer, '/sys/fs/cgroup/freezer/ec-run1-edge-1');
    const v2 = boardLayout('/b', 'run1', 'edge-1', { cgroup: 'v2', v1Controllers: [] });
    assert.deepEqual(v2.cgroups, ['/sys/fs/cgroup/ec-run1-edge-1']);
    assert.equal(statFiles(v2)[0], '/sys/fs/cgroup/ec-run1-edge-1/memory.peak');
    assert.throws(() => boardLayout('/b', '../x', 'edge-1', { cgroup: 'v2', v1Controllers: [] }));
    assert.deepEqual(detachPrefix(false, 'u'), ['setsid']);
    assert.deepEqual(detachPrefix(true, 'u').slice(0, 1), ['systemd-run']);
  });

  it('should read cgroup v1 and v2 statistics', () => {
    const v1 = parseCgroupStats(
      parseDump(
        [
          '== /sys/fs/cgroup/memory/x/memory.max_usage_in_bytes',
          '5000',
          '== /sys/fs/cgroup/memory/x/memory.usage_in_bytes',
          '4000',
          '== /sys/fs/cgroup/memory/x/memory.limit_in_bytes',
          '9223372036854771712',
          '== /sys/fs/cgroup/cpuacct/x/cpuacct.usage',
          '2500000000',
          '== /sys/fs/cgroup/cpu/x/cpu.stat',
          'nr_periods 10',
          'nr_throttled 2',
          'throttled_time 500000000',
          '== /sys/fs/cgroup/memory/x/memory.oom_control',
          'oom_kill_disable 0',
          'oom_kill 1',
        ].join('\n'),
      ),
      'v1',
    );
    assert.deepEqual(v1, {
      peakMemoryBytes: 5000,
      memoryBytes: 4000,
      memoryLimitBytes: undefined,
      cpuSeconds: 2.5,
      throttledSeconds: 0.5,
      nrThrottled: 2,
      oomKills: 1,
    });
    const v2 = parseCgroupStats(
      parseDump(
        [
          '== /c/memory.peak',
          '7000',
          '== /c/memory.current',
          '6000',
          '== /c/memory.max',
          'max',
          '== /c/cpu.stat',
          'usage_usec 1500000',
          'nr_throttled 0',
          'throttled_usec 0',
          '== /c/memory.events',
          'oom_kill 0',
        ].join('\n'),
      ),
      'v2',
    );
    assert.equal(v2.peakMemoryBytes, 7000);
    assert.equal(v2.memoryLimitBytes, undefined);
    assert.equal(v2.cpuSeconds, 1.5);
  });

  it('should read exit records in board time and decode signals', () => {
    const ex = parseExits(
      parseDump('== /b/run/edge-1.exits\n137 1700000000500000000\n0 1700000001000000000\n'),
    );
    assert.deepEqual(ex.get('edge-1'), [
      { status: 137, boardMs: 1700000000500 },
      { status: 0, boardMs: 1700000001000 },
    ]);
    assert.deepEqual(decodeStatus(137), { code: null, signal: 'SIGKILL' });
    assert.deepEqual(decodeStatus(143), { code: null, signal: 'SIGTERM' });
    assert.deepEqual(decodeStatus(2), { code: 2, signal: null });
  });
});

describe('ssh node shell', () => {
  it('should journal the undo, then arm the board timer, then apply the effect', async () => {
    const calls: string[][] = [];
    const conn = {
      node: 'edge-1',
      where: 'edge-1 (pi@192.0.2.11:22)',
      sudo: true,
      exec: (argv: readonly string[]) => {
        calls.push([...argv]);
        return Promise.resolve({ code: 0, signal: null, stdout: '', stderr: '' });
      },
    } as unknown as SshConnection;
    using d = tempDir('inv');
    const inv = resolveInventory(
      { hosts: hosts(keyIn(d.path)), safetyTtl: '2500ms' },
      join(d.path, 'inventory.json'),
    );
    const facts = parsePreflight(preflightOut());
    const layout = boardLayout('/var/lib/edgechaos', 'run1', 'edge-1', facts);
    const board = new SshBoard(inv.host('edge-1'), conn, facts, layout, {
      runId: 'run1',
      inventory: inv.file,
      configFile: '/tmp/ecssh-x/config',
      connectTimeoutMs: 5000,
      safetyTtlMs: inv.safetyTtlMs,
    });
    const shell = new SshShell(board);
    const undo = ['nft', 'delete', 'table', 'inet', 'ec_f1'];
    const entry = shell.undoEntry(undo);
    assert.equal(entry.kind, 'ssh-exec');
    assert.deepEqual(entry.data['argv'], undo);
    assert.equal(entry.data['sudo'], true);
    assert.equal(entry.data['config'], '/tmp/ecssh-x/config');
    const lease = entry.data['lease'] as string;
    assert.match(lease, /^\/var\/lib\/edgechaos\/run1\/leases\/[0-9a-f]{12}\.lease$/);
    assert.equal(
      JSON.stringify(entry.data).includes(inv.host('edge-1').keyPath!),
      false,
      'no key path in the journal',
    );
    assert.equal(calls.length, 0, 'nothing runs on the board before the entry is journaled');
    await shell.exec(['nft', '-f', '-'], { input: 'table inet ec_f1 {}' });
    assert.equal(calls.length, 2);
    const [arm, effect] = calls as [string[], string[]];
    assert.equal(arm[3], 'ec-arm');
    assert.deepEqual(arm.slice(4, 8), [layout.bin, lease, layout.heartbeat, '3']);
    assert.ok(arm.includes('systemd-run'), 'a systemd board keeps the timer in a transient unit');
    assert.deepEqual(arm.slice(-undo.length), undo);
    assert.equal(arm[arm.length - undo.length - 1], '--');
    assert.deepEqual(effect, ['nft', '-f', '-']);
    await shell.exec(['nft', 'list', 'tables']);
    assert.equal(calls.length, 3, 'a step without an undo is not armed');
  });
});
