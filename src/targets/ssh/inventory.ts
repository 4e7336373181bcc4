import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfig, validate } from '../../config/load.ts';
import { parseDuration } from '../../core/duration.ts';
import { ScenarioError } from '../../core/errors.ts';
import { registerSecret } from '../../core/logger.ts';

/**
 * The inventory of real boards for `--target ssh`: which hosts, how to log in, their CPU architecture
 * and role. A TS module with a default export, or JSON; validated like a scenario, errors name the
 * file and the field (`hosts[1].key`). Key paths are relative to the inventory's folder.
 */

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
    return z.NEVER;
  }
});

const jumpSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1),
    /** Private key for the jump host (default: the board's own key or agent). */
    key: z.string().min(1).optional(),
    /** Public host key line (`ssh-ed25519 AAAA…`); without it the user's known_hosts is used. */
    hostKey: z.string().min(1).optional(),
  })
  .strict();

const hostSchema = z
  .object({
    /** Node name as scenarios use it: `cloud`, or `edge-<n>`. */
    name: z.string().regex(/^(cloud|edge-[a-z0-9-]{1,24})$/, 'name must be "cloud" or look like edge-1'),
    role: z.enum(['edge', 'cloud']),
    /**
     * The cloud only: run the hub and its toxiproxy on the harness machine itself (no SSH). Then no
     * host, port, user, key, agent, sudo, hostKey, jump or arch; `address` is the harness's address
     * the boards reach (default: the one every edge sees as its SSH client).
     */
    local: z.literal(true).optional(),
    /** SSH address (name or IP). */
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z
      .string()
      .min(1)
      .regex(/^[a-z_][a-z0-9_.-]*$/i, 'not a valid user name')
      .optional(),
    /** Private key file; or `agent: true` to use $SSH_AUTH_SOCK. Exactly one of the two. */
    key: z.string().min(1).optional(),
    agent: z.boolean().optional(),
    arch: z.enum(['amd64', 'arm64']).optional(),
    /** Address of the board on the deployment network (what other boards reach it at); default `host`. */
    address: z.string().min(1).optional(),
    /** Run board commands through `sudo -n` (the user needs password-less sudo). */
    sudo: z.boolean().optional(),
    /** Absolute folder on the board that holds everything a run puts there (one sub-folder per run). */
    dir: z.string().startsWith('/', 'dir must be an absolute path').default('/var/lib/edgechaos'),
    /** Public host key line (`ssh-ed25519 AAAA…`); pinned. Without it the user's known_hosts is used. */
    hostKey: z.string().min(1).optional(),
    jump: jumpSchema.optional(),
  })
  .strict();

export const inventorySchema = z
  .object({
    hosts: z.array(hostSchema).min(2, 'an inventory needs a cloud host and at least one edge'),
    /** How long a board keeps a fault applied without hearing from the harness (the safety timer). */
    safetyTtl: duration.default(10_000),
    connectTimeout: duration.default(5000),
  })
  .strict();

type HostEntry = z.output<typeof hostSchema>;
export type InventoryHost = Omit<
  HostEntry,
  'host' | 'port' | 'user' | 'arch' | 'agent' | 'sudo' | 'local'
> & {
  host: string;
  port: number;
  user: string;
  arch: 'amd64' | 'arm64';
  agent: boolean;
  sudo: boolean;
  /** The cloud runs on the harness machine (`local: true`); host is "local". */
  local: boolean;
  /** Index in the file, for error fields. */
  index: number;
  /** Absolute key path (resolved against the inventory folder). */
  keyPath: string | undefined;
  jumpKeyPath: string | undefined;
  /** Address on the deployment network ("" for a local cloud until deploy finds it). */
  netAddress: string;
};

/** The harness machine's arch, as an inventory arch. */
export function harnessArch(): 'amd64' | 'arm64' | undefined {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : undefined;
}

const localForbidden = ['host', 'port', 'user', 'key', 'agent', 'sudo', 'hostKey', 'jump', 'arch'] as const;

/** A local cloud entry (pure apart from the harness arch): errors name the field that does not belong. */
function localCloud(h: HostEntry, i: number, file: string): InventoryHost {
  const f = (k: string): string => `hosts[${i}].${k}`;
  if (h.role !== 'cloud')
    throw new ScenarioError('local: true is for the cloud host only (edges are boards)', {
      file,
      field: f('local'),
    });
  for (const k of localForbidden)
    if (h[k] !== undefined)
      throw new ScenarioError(
        `a local cloud runs on the harness machine without SSH: remove ${k} (only name, role, local, address and dir apply)`,
        { file, field: f(k) },
      );
  const arch = harnessArch();
  if (!arch)
    throw new ScenarioError(
      `a local cloud needs an amd64 or arm64 harness machine (this is ${process.arch})`,
      {
        file,
        field: f('local'),
      },
    );
  return {
    ...h,
    host: 'local',
    port: 22,
    user: 'root',
    arch,
    agent: false,
    sudo: false,
    local: true,
    index: i,
    keyPath: undefined,
    jumpKeyPath: undefined,
    netAddress: h.address ?? '',
  };
}
export interface Inventory {
  file: string;
  hosts: InventoryHost[];
  safetyTtlMs: number;
  connectTimeoutMs: number;
  host(name: string): InventoryHost;
  cloud: InventoryHost;
  edges: InventoryHost[];
}

function checkKey(file: string, field: string, path: string): void {
  if (!existsSync(path)) throw new ScenarioError('key file does not exist', { file, field });
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new ScenarioError('key file is not readable', { file, field });
  }
  const st = statSync(path);
  if (!st.isFile()) throw new ScenarioError('key is not a file', { file, field });
  // OpenSSH refuses private keys others can read ("UNPROTECTED PRIVATE KEY FILE").
  if ((st.mode & 0o077) !== 0)
    throw new ScenarioError(
      `key file permissions ${(st.mode & 0o777).toString(8)} are too open (ssh needs 600)`,
      {
        file,
        field,
      },
    );
}

/** Validate a parsed inventory (pure apart from checking that key files exist). */
export function resolveInventory(raw: unknown, file: string): Inventory {
  const inv = validate(inventorySchema, raw, file);
  const base = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const seen = new Set<string>();
  const hosts: InventoryHost[] = inv.hosts.map((h, i) => {
    const f = (k: string): string => `hosts[${i}].${k}`;
    if (seen.has(h.name))
      throw new ScenarioError(`host "${h.name}" appears twice`, { file, field: f('name') });
    seen.add(h.name);
    if (h.local) return localCloud(h, i, file);
    for (const k of ['host', 'user', 'arch'] as const)
      if (h[k] === undefined)
        throw new ScenarioError(`${k} is required (or local: true for a cloud on the harness machine)`, {
          file,
          field: f(k),
        });
    if ((h.name === 'cloud') !== (h.role === 'cloud'))
      throw new ScenarioError(
        `the cloud host is named "cloud" and has role cloud (got ${h.name}/${h.role})`,
        {
          file,
          field: f('role'),
        },
      );
    if (h.key !== undefined && h.agent)
      throw new ScenarioError('give either key or agent: true, not both', { file, field: f('key') });
    if (h.key === undefined && !h.agent)
      throw new ScenarioError('a key file (key) or agent: true is required', { file, field: f('key') });
    if (h.agent && !process.env['SSH_AUTH_SOCK'])
      throw new ScenarioError('agent: true but SSH_AUTH_SOCK is not set', { file, field: f('agent') });
    if (h.dir === '/' || /(^|\/)\.\.?(\/|$)/.test(h.dir))
      throw new ScenarioError('dir must be a plain absolute folder other than /', { file, field: f('dir') });
    const keyPath = h.key === undefined ? undefined : abs(h.key);
    if (keyPath) {
      checkKey(file, f('key'), keyPath);
      registerSecret(keyPath);
      if (h.key) registerSecret(h.key);
    }
    const jumpKeyPath = h.jump?.key === undefined ? undefined : abs(h.jump.key);
    if (jumpKeyPath) {
      checkKey(file, f('jump.key'), jumpKeyPath);
      registerSecret(jumpKeyPath);
    }
    return {
      ...h,
      host: h.host!,
      port: h.port ?? 22,
      user: h.user!,
      arch: h.arch!,
      agent: h.agent ?? false,
      sudo: h.sudo ?? false,
      local: false,
      index: i,
      keyPath,
      jumpKeyPath,
      netAddress: h.address ?? h.host!,
    };
  });
  const clouds = hosts.filter((h) => h.role === 'cloud');
  if (clouds.length !== 1)
    throw new ScenarioError(`exactly one host has role cloud (found ${clouds.length})`, {
      file,
      field: 'hosts',
    });
  const edges = hosts.filter((h) => h.role === 'edge');
  if (edges.length === 0) throw new ScenarioError('no host has role edge', { file, field: 'hosts' });
  const byName = new Map(hosts.map((h) => [h.name, h]));
  return {
    file: resolve(file),
    hosts,
    safetyTtlMs: inv.safetyTtl,
    connectTimeoutMs: inv.connectTimeout,
    cloud: clouds[0]!,
    edges,
    host(name) {
      const h = byName.get(name);
      if (!h)
        throw new ScenarioError(`no host "${name}" (hosts: ${[...byName.keys()].join(', ')})`, {
          file,
          field: 'hosts',
        });
      return h;
    },
  };
}

/** Load and validate an inventory file (.ts/.js default export, or .json). */
export async function loadInventory(file: string): Promise<Inventory> {
  const raw: unknown = await loadConfig(file, z.unknown(), 'inventory');
  return resolveInventory(raw, file);
}
