import { posix } from 'node:path';
import type { ImageConfig } from '../../../images/archive.ts';

/**
 * The OCI runtime spec (config.json) of one stack container on the local target, as data (pure).
 * Based on `runc spec` (same default mounts, masked and read-only paths), changed where the harness
 * needs it: the network namespace is the node's EXISTING one (joined by path), the cgroup is a child
 * of the node's board cgroup (its CPU quota, memory limit, freezer and accounting apply unchanged),
 * own PID/mount/IPC/UTS namespaces, a read-only rootfs, the node's data dir bind-mounted at the
 * contract's data path, no capabilities, no new privileges.
 */
export interface ContainerSpecInput {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  hostname: string;
  /** /var/run/netns/<ns> of the node. */
  netnsPath: string;
  /** cgroupsPath: relative to every v1 hierarchy root, e.g. /ec-run-1-edge-1/ctr. */
  cgroupsPath: string;
  /** Host directory → container path. */
  dataDir: { host: string; container: string };
  /** Read-only bind mounts of host files (the emulator of an emulated image). */
  extraMounts?: { host: string; container: string }[];
  /** Size of the writable /tmp (tmpfs, charged to the board's memory limit). */
  tmpSize?: string;
}

export interface RuntimeSpec {
  ociVersion: string;
  process: Record<string, unknown>;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options?: string[] }[];
  linux: Record<string, unknown>;
}

export function containerSpec(i: ContainerSpecInput): RuntimeSpec {
  if (i.args.length === 0) throw new Error('container has no process arguments');
  if (!posix.isAbsolute(i.dataDir.container))
    throw new Error(`data dir ${i.dataDir.container} must be absolute`);
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: {
        uid: i.uid,
        gid: i.gid,
        ...(i.additionalGids?.length ? { additionalGids: i.additionalGids } : {}),
      },
      args: i.args,
      env: i.env,
      cwd: i.cwd || '/',
      capabilities: { bounding: [], effective: [], permitted: [], ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: i.rootfs, readonly: true },
    hostname: i.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', `size=${i.tmpSize ?? '16m'}`],
      },
      {
        destination: i.dataDir.container,
        type: 'bind',
        source: i.dataDir.host,
        options: ['rbind', 'rw', 'nosuid', 'nodev'],
      },
      ...(i.extraMounts ?? []).map((m) => ({
        destination: m.container,
        type: 'bind',
        source: m.host,
        options: ['bind', 'ro', 'nosuid', 'nodev'],
      })),
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'network', path: i.netnsPath },
      ],
      cgroupsPath: i.cgroupsPath,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** Image user → uid/gid (OCI image spec: `user`, `uid`, `user:group`, `uid:gid`; names from the rootfs). */
export function resolveUser(user: string, passwd: string, group: string): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':', 2) as [string, string | undefined];
  const pw = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4);
  const gr = group
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3);
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const e = pw.find((f) => Number(f[2]) === uid);
    gid = e ? Number(e[3]) : undefined;
  } else {
    const e = pw.find((f) => f[0] === u);
    if (!e) throw new Error(`user "${u}" is not in the image's /etc/passwd`);
    uid = Number(e[2]);
    gid = Number(e[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = gr.find((f) => f[0] === g);
      if (!e) throw new Error(`group "${g}" is not in the image's /etc/group`);
      gid = Number(e[2]);
    }
  }
  return { uid, gid: gid ?? 0 };
}

/** Env list (K=V) → map and back; later entries win, like a container engine merging image and run env. */
export function mergeEnv(...lists: (readonly string[] | Record<string, string>)[]): string[] {
  const m = new Map<string, string>();
  for (const l of lists) {
    const pairs = Array.isArray(l)
      ? (l as readonly string[]).map((e) => {
          const i = e.indexOf('=');
          return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
        })
      : Object.entries(l);
    for (const [k, v] of pairs) m.set(k!, v!);
  }
  return [...m].map(([k, v]) => `${k}=${v}`);
}

export function envValue(env: readonly string[], key: string): string | undefined {
  const hit = [...env].reverse().find((e) => e.startsWith(`${key}=`));
  return hit?.slice(key.length + 1);
}

/** The process argv of an image (OCI image spec: Entrypoint + Cmd). */
export function imageArgs(cfg: Pick<ImageConfig, 'entrypoint' | 'cmd'>): string[] {
  return [...cfg.entrypoint, ...cfg.cmd];
}

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
