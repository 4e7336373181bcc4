import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { CleanupRegistry, newRunId } from '../core/cleanup/registry.ts';
import { run } from '../core/proc.ts';
import { builtVersion, which } from './find.ts';
import { readToolsLock } from './lock.ts';
import { kubeBinary, readKubeLock } from '../control-plane/tools.ts';
import { join } from 'node:path';
import { toolsDir } from '../core/paths.ts';
import {
  ambientEngine,
  boundingSetGaps,
  CAP_SYS_RESOURCE,
  docker,
  dockerdPaths,
  dockerHostOf,
  negativeOomScoreAllowed,
  readDockerdState,
} from './dockerd.ts';
import { imageSize, nodeImageRef, readKindLock } from './kind-image.ts';
import { emulatorHint, emulatorName, guestArch, probeEmulation } from './emulation.ts';

export interface ToolStatus {
  name: string;
  required: boolean;
  found: boolean;
  version: string | undefined;
  path: string | undefined;
  /** Pinned version from tools.lock.json, where there is one. */
  pinned?: string;
  ok: boolean;
  note?: string;
}

export interface CapabilityStatus {
  name: string;
  ok: boolean;
  detail: string;
  /** Faults that need this capability. */
  neededBy: string;
  /** Only some scenarios need it (emulated nodes): absent is reported, doctor still passes. */
  optional?: boolean;
}

export interface DoctorReport {
  tools: ToolStatus[];
  capabilities: CapabilityStatus[];
  root: boolean;
  ok: boolean;
}

interface ToolSpec {
  name: string;
  argv: string[];
  re: RegExp;
  required: boolean;
  hint: string;
}

const toolSpecs: ToolSpec[] = [
  {
    name: 'toxiproxy-server',
    argv: ['-version'],
    re: /version (\S+)/,
    required: true,
    hint: 'edgechaos bootstrap',
  },
  {
    name: 'toxiproxy-cli',
    argv: ['--version'],
    re: /version (\S+)/,
    required: true,
    hint: 'edgechaos bootstrap',
  },
  { name: 'kwok', argv: ['--version'], re: /version v?(\S+)/, required: true, hint: 'edgechaos bootstrap' },
  // --runtime oci (local target): runc runs the stack's images, crane unpacks them
  {
    name: 'runc',
    argv: ['--version'],
    re: /runc version (\S+)/,
    required: true,
    hint: 'apt-get install runc',
  },
  { name: 'crane', argv: ['version'], re: /v?(\d[\w.+-]*)/, required: true, hint: 'edgechaos bootstrap' },
  // nodes with a foreign `arch` (local target) run their image under Debian's qemu-user-static
  {
    name: emulatorName[guestArch],
    argv: ['--version'],
    re: /version (\S+)/,
    required: false,
    hint: `needed by nodes with arch: ${guestArch}: ${emulatorHint}`,
  },
  {
    name: 'stress-ng',
    argv: ['--version'],
    re: /version (\S+)/,
    required: true,
    hint: 'apt-get install stress-ng',
  },
  { name: 'nft', argv: ['--version'], re: /v(\d[\w.]*)/, required: true, hint: 'apt-get install nftables' },
  { name: 'ip', argv: ['-V'], re: /iproute2-(\S+?),?\s/, required: true, hint: 'apt-get install iproute2' },
  { name: 'tc', argv: ['-V'], re: /iproute2-(\S+?),?\s/, required: true, hint: 'apt-get install iproute2' },
  {
    name: 'chromium',
    argv: ['--version'],
    re: /Chromium (\S+)/,
    required: true,
    hint: 'apt-get install chromium',
  },
  {
    name: 'sshd',
    argv: ['-V'],
    re: /OpenSSH_(\S+?),/,
    required: true,
    hint: 'apt-get install openssh-server',
  },
  { name: 'go', argv: ['version'], re: /go(\d+\.\d+(?:\.\d+)?)/, required: true, hint: 'install Go ≥ 1.26' },
  { name: 'file', argv: ['--version'], re: /file-(\S+)/, required: false, hint: 'apt-get install file' },
  {
    name: 'docker',
    argv: ['--version'],
    re: /version (\S+?),/,
    required: false,
    hint: 'needed by --target kind and --target kube (nodes as containers): install Docker',
  },
  {
    name: 'kind',
    argv: ['version'],
    re: /kind v(\S+)/,
    required: false,
    hint: 'needed by --target kind: edgechaos bootstrap --kind',
  },
  {
    name: 'dockerd',
    argv: ['--version'],
    re: /version (\S+?),/,
    required: false,
    hint: 'needed by --target kind here (edgechaos starts its own private dockerd): edgechaos bootstrap --kind',
  },
];

/** --target kind: the engine in use, the node image, and which VM workarounds this machine needs. */
async function probeKind(): Promise<{ tools: ToolStatus[]; caps: CapabilityStatus[] }> {
  const tools: ToolStatus[] = [];
  const state = readDockerdState();
  const p = dockerdPaths();
  const ambient = await ambientEngine();
  const engineNote = ambient
    ? `Kind uses the engine at DOCKER_HOST (Docker ${ambient}) with kind's own node image`
    : state
      ? `private dockerd ${state.version} running on ${dockerHostOf(p)} (pid ${state.pid})`
      : `private dockerd not running (each --target kind run starts it on ${dockerHostOf(p)}, journaled)`;
  let ref: string | undefined;
  try {
    ref = readFileSync(join(toolsDir(), 'kind', 'node-image'), 'utf8').trim();
  } catch {
    ref = undefined;
  }
  const cached = ref && state ? (await docker(['image', 'inspect', ref])).code === 0 : undefined;
  const size = ref && cached ? await imageSize(ref) : undefined;
  tools.push({
    name: 'kind-node-image',
    required: false,
    found: ref !== undefined,
    version: ref?.split(':')[1],
    path: ref,
    pinned: `${readKubeLock().version} (${nodeImageRef(readKindLock())})`,
    ok: true,
    note: [
      engineNote,
      ref === undefined
        ? 'not built: edgechaos bootstrap --kind'
        : ref !== nodeImageRef(readKindLock())
          ? 'built from older pins: edgechaos bootstrap --kind'
          : cached === undefined
            ? 'in the machine cache; loaded when the engine runs'
            : cached
              ? `loaded${size ? `, ${(size / 1e9).toFixed(2)} GB` : ''}`
              : 'not in the engine: edgechaos bootstrap --kind loads it',
    ].join('; '),
  });
  const gaps = boundingSetGaps();
  const caps: CapabilityStatus[] = [
    {
      name: 'privileged containers',
      ok: true,
      neededBy: '--target kind (Kind nodes are privileged containers)',
      detail: gaps.includes(CAP_SYS_RESOURCE)
        ? 'the capability bounding set lacks CAP_SYS_RESOURCE: workaround runc-nosysres (drops it from container specs) is the private dockerd default runtime' +
          (state ? ` — applied now: ${state.workarounds.length ? 'yes' : 'no'}` : '')
        : 'bounding set complete: no workaround',
    },
    {
      name: 'negative oom_score_adj',
      ok: true,
      neededBy: '--target kind (pod sandboxes, critical pods)',
      detail: (await negativeOomScoreAllowed())
        ? 'allowed: no workaround'
        : 'refused here: the node image entrypoint switches on containerd restrict_oom_score_adj (clamps to the node’s own)',
    },
  ];
  return { tools, caps };
}

async function probeTool(spec: ToolSpec, pinned: Map<string, string>): Promise<ToolStatus> {
  const path = which(spec.name);
  const base = { name: spec.name, required: spec.required, path, pinned: pinned.get(spec.name) };
  if (!path) return { ...base, found: false, version: undefined, ok: !spec.required, note: spec.hint };
  const r = await run([path, ...spec.argv], { allowFailure: true }).catch(() => undefined);
  const out = r ? `${r.stdout}\n${r.stderr}` : '';
  const version = spec.re.exec(out)?.[1];
  let ok = version !== undefined;
  let note: string | undefined;
  const want = pinned.get(spec.name);
  if (want && version && want.replace(/^v/, '') !== version.replace(/^v/, '')) {
    ok = false;
    note = `pinned ${want}: run edgechaos bootstrap`;
  }
  if (want && !builtVersion(spec.name)) note = note ?? 'not built by bootstrap (found elsewhere)';
  return { ...base, found: true, version, ok: ok || !spec.required, ...(note ? { note } : {}) };
}

/** The embedded control plane (built by `bootstrap --kube`): optional for local campaigns, needed by kube-local and its tests. */
async function probeKube(): Promise<ToolStatus[]> {
  const lock = readKubeLock();
  return Promise.all(
    ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map(
      async (name): Promise<ToolStatus> => {
        const pinned = name === 'etcd' ? lock.etcd : lock.version;
        let path: string;
        try {
          path = kubeBinary(name, lock);
        } catch {
          return {
            name,
            required: false,
            found: false,
            version: undefined,
            path: undefined,
            pinned,
            ok: true,
            note: 'edgechaos bootstrap --kube (needed by --target kube-local and the kube tests)',
          };
        }
        const r = await run([path, '--version'], { allowFailure: true }).catch(() => undefined);
        const version = /v?(\d+\.\d+\.\d+)/.exec(`${r?.stdout ?? ''} ${r?.stderr ?? ''}`)?.[1];
        const same = version !== undefined && version === pinned.replace(/^v/, '');
        return {
          name,
          required: false,
          found: true,
          version,
          path,
          pinned,
          ok: true,
          ...(same ? {} : { note: `pinned ${pinned}: run edgechaos bootstrap --kube` }),
        };
      },
    ),
  );
}

/** Each capability is probed for real inside a scratch network namespace, reverted through the registry. */
async function probeCapabilities(): Promise<CapabilityStatus[]> {
  const caps: CapabilityStatus[] = [];
  const runId = newRunId('doctor');
  const ns = `ecdoc-${process.pid}`;
  await using reg = CleanupRegistry.open(runId);
  const inNs = (argv: string[]): string[] => ['ip', 'netns', 'exec', ns, ...argv];
  const attempt = async (
    name: string,
    neededBy: string,
    argv: string[],
    expectFail = false,
  ): Promise<boolean> => {
    const r = await run(argv, { allowFailure: true }).catch((e: unknown) => ({
      code: -1,
      stderr: String(e),
      stdout: '',
    }));
    const ok = r.code === 0;
    caps.push({
      name,
      ok,
      neededBy,
      detail: ok ? 'works' : `${expectFail ? 'absent' : 'failed'}: ${r.stderr.trim().split('\n')[0] ?? ''}`,
    });
    return ok;
  };

  reg.add('netns', `doctor netns ${ns}`, { name: ns });
  const netnsOk = await attempt('netns', 'local target (every node)', ['ip', 'netns', 'add', ns]);
  if (netnsOk) {
    await attempt(
      'veth',
      'local target links',
      inNs(['ip', 'link', 'add', 'ecd0', 'type', 'veth', 'peer', 'name', 'ecd1']),
    );
    await run(inNs(['ip', 'link', 'set', 'lo', 'up']), { allowFailure: true });
    await attempt('bridge', 'local target topology', inNs(['ip', 'link', 'add', 'ecbr', 'type', 'bridge']));
    await attempt('nftables', 'partition, flap', inNs(['nft', 'add', 'table', 'inet', 'ecprobe']));
    await attempt(
      'tbf',
      'bandwidth (kernel)',
      inNs([
        'tc',
        'qdisc',
        'add',
        'dev',
        'lo',
        'root',
        'tbf',
        'rate',
        '1mbit',
        'burst',
        '32kbit',
        'latency',
        '400ms',
      ]),
    );
    await run(inNs(['tc', 'qdisc', 'del', 'dev', 'lo', 'root']), { allowFailure: true });
    const netem = await attempt(
      'netem',
      'latency via tc (optional: toxiproxy is used instead)',
      inNs(['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']),
      true,
    );
    if (!netem) caps[caps.length - 1]!.detail = 'absent (latency, jitter, loss go through toxiproxy)';
  }
  caps.push(...probeCgroups(runId));
  return caps;
}

function probeCgroups(runId: string): CapabilityStatus[] {
  const out: CapabilityStatus[] = [];
  const v1 = (ctrl: string, file: string, value: string, neededBy: string): void => {
    const dir = `/sys/fs/cgroup/${ctrl}/edgechaos-probe-${runId}`;
    try {
      mkdirSync(dir);
      writeFileSync(`${dir}/${file}`, value);
      out.push({ name: `cgroup ${ctrl}`, ok: true, detail: `v1 (${file} writable)`, neededBy });
    } catch (e) {
      out.push({ name: `cgroup ${ctrl}`, ok: false, detail: `v1: ${(e as Error).message}`, neededBy });
    } finally {
      try {
        if (existsSync(dir)) rmdirSync(dir);
      } catch {
        /* reported by cleanup below */
      }
    }
  };
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) {
    v1('cpu', 'cpu.cfs_quota_us', '25000', 'board CPU quota, cpu-stress');
    v1('memory', 'memory.limit_in_bytes', String(256 << 20), 'board memory limit, memory-stress');
    v1('freezer', 'freezer.state', 'THAWED', 'pause');
  } else if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const ctrls = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(/\s+/);
    for (const [c, by] of [
      ['cpu', 'board CPU quota, cpu-stress'],
      ['memory', 'board memory limit, memory-stress'],
    ] as const) {
      out.push({
        name: `cgroup ${c}`,
        ok: ctrls.includes(c),
        detail: `v2 (${ctrls.join(' ')})`,
        neededBy: by,
      });
    }
    out.push({ name: 'cgroup freezer', ok: true, detail: 'v2 cgroup.freeze', neededBy: 'pause' });
  } else {
    out.push({
      name: 'cgroups',
      ok: false,
      detail: 'no cgroup v1 cpu controller nor v2 hierarchy found',
      neededBy: 'board profiles',
    });
  }
  return out;
}

export async function doctor(): Promise<DoctorReport> {
  const lock = readToolsLock();
  const pinned = new Map(Object.entries(lock.go).map(([n, t]) => [n, t.version]));
  pinned.set('kind', readKindLock().version);
  const tools = await Promise.all(toolSpecs.map((s) => probeTool(s, pinned)));
  tools.push(...(await probeKube()));
  const kind = await probeKind();
  tools.push(...kind.tools);
  tools.push({
    name: 'node',
    required: true,
    found: true,
    version: process.versions.node,
    path: process.execPath,
    ok: Number(process.versions.node.split('.')[0]) >= 20,
  });
  const root = process.getuid?.() === 0;
  const capabilities = root
    ? await probeCapabilities()
    : [
        {
          name: 'kernel capabilities',
          ok: false,
          detail: 'not probed: needs root',
          neededBy: 'local target',
        },
      ];
  capabilities.push(...kind.caps);
  capabilities.push({
    name: `emulated ${guestArch}`,
    ...(await probeEmulation()),
    neededBy: `nodes with arch: ${guestArch} (local target, --runtime oci)`,
    optional: true,
  });
  const ok =
    tools.every((t) => t.ok) &&
    capabilities.filter((c) => c.name !== 'netem' && !c.optional).every((c) => c.ok);
  return { tools, capabilities, root, ok };
}
