import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { z } from 'zod';
import { catalogue } from '../../faults/catalogue.ts';
import { kubeFaultKindNames, type TypedFaultEntry } from '../../faults/typed.ts';
import { loadConfig } from '../config/load.ts';
import { parseDuration } from '../core/duration.ts';
import { EdgechaosError, ScenarioError } from '../core/errors.ts';
import { repoRoot } from '../core/paths.ts';
import { resolveProfile } from '../targets/local/profiles.ts';
import { pickRunSubnet, runAddresses } from '../targets/local/subnet.ts';

/** Every fault kind a scenario may name: the catalogue's, and the Kubernetes targets'. */
export const scenarioFaultKinds: readonly string[] = [...Object.keys(catalogue), ...kubeFaultKindNames];

const duration = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  try {
    parseDuration(v);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

const nodeSelector = z.union([
  z.string().regex(/^[a-z][a-z0-9-]*$/, 'node must be a node name like edge-1'),
  z.object({ random: z.array(z.string()).min(1) }).strict(),
]);

const faultEntry = z
  .object({
    kind: z.string().min(1),
    /** Node name, or { random: [...] } — picked with the scenario's seed. */
    node: nodeSelector,
    /** Offset from the start of the load phase. */
    at: duration,
    /** How long it stays applied (instant faults like kill have none). */
    for: duration.optional(),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const nodeSpec = z
  .object({
    name: z
      .string()
      .regex(/^edge-[a-z0-9-]+$/, 'edge node names start with "edge-"')
      .optional(),
    profile: z.string().min(1).default('x86-edge'),
    /** Run the node's image for this architecture (local: arm64 under qemu-user, timings not scored). */
    arch: z.enum(['amd64', 'arm64']).optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'name must be kebab-case'),
    description: z.string().default(''),
    seed: z.number().int().nonnegative().optional(),
    target: z
      .object({
        kind: z.enum(['local', 'kube', 'kube-local', 'kind', 'ssh']).default('local'),
        subnet: z.string().optional(),
      })
      .strict()
      .default({ kind: 'local' }),
    /** Stack manifest; default: the reference stack. */
    stack: z.string().optional(),
    nodes: z.array(nodeSpec).min(1).max(200),
    edgeMode: z.enum(['auto', 'online', 'offline']).default('auto'),
    warmup: duration.default('3s'),
    /** Length of the load + fault phase. */
    duration,
    load: z
      .object({
        script: z.string().min(1),
        env: z.record(z.string(), z.string()).default({}),
      })
      .strict(),
    faults: z.array(faultEntry).default([]),
    /** Config versions the harness publishes on the hub, at these offsets (downlink check). */
    downlink: z
      .object({ publishAt: z.array(duration).default([]) })
      .strict()
      .default({ publishAt: [] }),
    convergence: z
      .object({ timeout: duration.default('60s') })
      .strict()
      .default({ timeout: '60s' }),
    /** Each check's own limits (its verdict); the rubric scores the same metrics separately. */
    checks: z
      .object({
        offline: z
          .object({ minSuccessRate: z.number().min(0).max(1).default(0.99) })
          .strict()
          .default({ minSuccessRate: 0.99 }),
        startup: z
          .object({
            samples: z.number().int().min(1).max(100).default(5),
            maxMs: z.number().positive().default(500),
          })
          .strict()
          .default({ samples: 5, maxMs: 500 }),
        resources: z
          .object({ maxPeakRssBytes: z.number().positive().default(256e6) })
          .strict()
          .default({ maxPeakRssBytes: 256e6 }),
        image: z
          .object({ maxBytes: z.number().positive().default(10e6) })
          .strict()
          .default({ maxBytes: 10e6 }),
        syncEfficiency: z
          .object({ maxOverheadRatio: z.number().positive().default(5) })
          .strict()
          .default({ maxOverheadRatio: 5 }),
        conformance: z.boolean().default(true),
        /** Fewer acknowledged writes than this and the sync/efficiency/resource checks fail for want of evidence. */
        minAcknowledgedWrites: z.number().int().min(1).max(1_000_000).default(20),
        /** Kubernetes targets: pods the deploy created, created → bound. */
        scheduling: z
          .object({ maxP99Ms: z.number().positive().default(5000) })
          .strict()
          .default({ maxP99Ms: 5000 }),
        /** Kubernetes targets: N times, lose the edge node hosting the most workload pods. */
        rescheduling: z
          .object({
            trials: z.number().int().min(0).max(20).default(3),
            /** node-loss: the node stops answering (heartbeat / container stopped); overload: a NoExecute taint. */
            mechanism: z.enum(['node-loss', 'overload']).default('node-loss'),
            maxP99Ms: z.number().positive().default(60_000),
            /** Per trial: loss → replicas Ready elsewhere. */
            timeout: duration.default('120s'),
          })
          .strict()
          .default({ trials: 3, mechanism: 'node-loss', maxP99Ms: 60_000, timeout: '120s' }),
        /**
         * kube-local with the stack's edge-scheduler: the scheduling benchmark beside the default
         * scheduler on its own embedded cluster (throughput, CPU spread, latency-aware placement).
         */
        schedulingBench: z
          .object({
            nodes: z.number().int().min(3).max(1000).default(20),
            pods: z.number().int().min(10).max(10_000).default(200),
            rounds: z.number().int().min(1).max(5).default(1),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({
        offline: { minSuccessRate: 0.99 },
        startup: { samples: 5, maxMs: 500 },
        resources: { maxPeakRssBytes: 256e6 },
        image: { maxBytes: 10e6 },
        syncEfficiency: { maxOverheadRatio: 5 },
        conformance: true,
        minAcknowledgedWrites: 20,
        scheduling: { maxP99Ms: 5000 },
        rescheduling: { trials: 3, mechanism: 'node-loss', maxP99Ms: 60_000, timeout: '120s' },
      }),
    rubric: z.string().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const names = resolveNodeNames(s.nodes);
    const known = new Set([...names, 'cloud']);
    s.faults.forEach((f, i) => {
      const picks = typeof f.node === 'string' ? [f.node] : f.node.random;
      for (const n of picks) {
        if (!known.has(n))
          ctx.addIssue({
            code: 'custom',
            path: ['faults', i, 'node'],
            message: `unknown node "${n}" (nodes: ${[...known].join(', ')})`,
          });
      }
      if (parseDuration(f.at) >= parseDuration(s.duration)) {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'at'],
          message: `starts at or after the end of the load phase (${String(s.duration)})`,
        });
      }
    });
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', path: ['nodes'], message: 'node names must be unique' });
    s.faults.forEach((f, i) => {
      if (!scenarioFaultKinds.includes(f.kind))
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'kind'],
          message: `unknown fault kind "${f.kind}" (known: ${scenarioFaultKinds.join(', ')})`,
        });
    });
    // Board profiles and the subnet are checked here, before anything is created (not by the target).
    s.nodes.forEach((n, i) => {
      try {
        resolveProfile(n.profile, `nodes[${i}].profile`);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'profile'], message: (e as Error).message });
      }
    });
    if (s.target.subnet !== undefined) {
      try {
        // the run's own /24 (or the pool itself when smaller) from the pool, with room for every edge
        runAddresses(pickRunSubnet(s.target.subnet, []), s.nodes.length);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          path: ['target', 'subnet'],
          message: `${(e as Error).message} (give a private range, e.g. 10.77.0.0/16, with room for a /24)`,
        });
      }
    }
  });

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema> & {
  file: string;
  /** Absolute paths resolved against the scenario file. */
  paths: { stack: string | undefined; loadScript: string; rubric: string };
};

/** The board profiles of the local target's table (src/targets/local/profiles.ts; a test keeps them equal). */
export const boardProfileNames = ['rpi4', 'rpi-zero', 'jetson-nano', 'x86-edge'] as const;
/** A profile by name, or custom numbers: `custom:cpus=0.5,memory=512MiB[,latency=…,jitter=…,rate=…]`. */
export type BoardProfile = (typeof boardProfileNames)[number] | `custom:${string}`;

/**
 * A scenario as a file writes it: the schema's input, with fault entries typed by kind (each kind's
 * params; faults/typed.ts) and board profiles limited to the real table or `custom:…`.
 */
export type ScenarioFile = Omit<ScenarioInput, 'faults' | 'nodes'> & {
  nodes: { name?: string; profile?: BoardProfile; arch?: 'amd64' | 'arm64' }[];
  faults?: TypedFaultEntry[];
};

/** Typed helper for scenario files: editors autocomplete every field, fault kinds and their params. */
export function defineScenario(s: ScenarioFile): ScenarioFile {
  return s;
}

export function resolveNodeNames(nodes: readonly { name?: string | undefined }[]): string[] {
  return nodes.map((n, i) => n.name ?? `edge-${i + 1}`);
}

export async function loadScenario(file: string): Promise<Scenario> {
  const s = await loadConfig(file, scenarioSchema, 'scenario');
  const base = dirname(resolve(file));
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const paths = {
    stack: s.stack ? abs(s.stack) : undefined,
    loadScript: abs(s.load.script),
    rubric: s.rubric ? abs(s.rubric) : resolve(repoRoot, 'scenarios', 'rubric.ts'),
  };
  // Files the run needs later are checked now: a missing one is a configuration error before deploy.
  const needFile = (p: string | undefined, field: string, what: string): void => {
    if (p !== undefined && !(existsSync(p) && statSync(p).isFile()))
      throw new ScenarioError(`${what} ${relative(process.cwd(), p) || p} does not exist`, { file, field });
  };
  needFile(paths.loadScript, 'load.script', 'load script');
  needFile(paths.stack, 'stack', 'stack manifest');
  needFile(paths.rubric, 'rubric', 'rubric');
  return { ...s, file: resolve(file), paths };
}

/**
 * An error from validating part of a scenario (a fault's params, a node) that names the field but not
 * the file: the same error naming the scenario file.
 */
export function inScenarioFile(err: unknown, scenario: Pick<Scenario, 'file'>): unknown {
  if (
    err instanceof EdgechaosError &&
    err.exitCode === 2 &&
    !err.file &&
    /^(faults|nodes)\[/.test(err.field ?? '')
  )
    return new ScenarioError(err.message, {
      file: relative(process.cwd(), scenario.file) || scenario.file,
      ...(err.field ? { field: err.field } : {}),
      ...(err.node ? { node: err.node } : {}),
      cause: err,
    });
  return err;
}
