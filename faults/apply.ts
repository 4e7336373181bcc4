import { randomBytes } from 'node:crypto';
import { revertLastFirst } from '../src/core/cleanup/revert-stack.ts';
import type { CleanupHandle, CleanupRegistry } from '../src/core/cleanup/registry.ts';
import { abortReason } from '../src/core/deadline.ts';
import { CommandError, TargetError } from '../src/core/errors.ts';
import { logger } from '../src/core/logger.ts';
import { seededRandom } from '../src/load/rng.ts';
import { planFault } from './catalogue.ts';
import {
  capabilitiesOf,
  capabilityNames,
  surfaceOf,
  type Capability,
  type FaultSurface,
  type HasFaultSurface,
  type Revertible,
} from './capabilities.ts';
import {
  planNeeds,
  type Fault,
  type FaultPlan,
  type FaultStep,
  type PlanContext,
  type ResolvedFault,
} from './types.ts';

const log = logger('fault');

/** An applied fault: `revert` is idempotent, keeps going past errors, and also lives in the journal. */
export interface AppliedFault {
  readonly plan: FaultPlan;
  /** ms from the call to the effect being applied (all immediate steps done). */
  readonly applyMs: number;
  /** Errors of delayed steps (flap toggles, delayed restarts) so far. */
  readonly laterErrors: readonly unknown[];
  revert(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export function planContext(target: FaultSurface | HasFaultSurface): PlanContext {
  const dep = surfaceOf(target);
  return {
    nodes: dep.nodes,
    clientAddresses: dep.clientAddresses,
    uplinkProxy: (n) => dep.uplink?.uplinkProxy(n),
    uplinkDevice: (n) => dep.uplink?.uplinkDevice(n) ?? 'eth0',
    dataLayer: (n) => dep.data?.dataLayer(n),
  };
}

/** The capability a step needs, or a clear error naming it and the target. */
function need<T>(dep: FaultSurface, c: Capability, got: T | undefined, node: string): T {
  if (got === undefined) throw new TargetError(`target ${dep.target} lacks ${capabilityNames[c]}`, { node });
  return got;
}

/** Resolve the node selector (seeded) and give the fault an id. */
export function resolveFault(f: Fault): ResolvedFault {
  const id = f.id ?? `f${randomBytes(3).toString('hex')}`;
  const node =
    typeof f.node === 'string'
      ? f.node
      : f.node.random[Math.floor(seededRandom(f.seed ?? 1)() * f.node.random.length)]!;
  return { ...f, id, node };
}

/** stderr of a command that failed because its effect was already there (owned by someone else). */
const conflict = /File exists|Exclusivity flag on/;

class ToxicConflict extends TargetError {}

async function toxicAdd(step: Extract<FaultStep, { op: 'toxic' }>): Promise<void> {
  const url = `${step.uplink.api}/proxies/${encodeURIComponent(step.uplink.proxy)}/toxics`;
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(step.toxic),
    signal: AbortSignal.timeout(5000),
  });
  if (res.status === 409)
    throw new ToxicConflict(`toxiproxy: toxic ${step.toxic.name} already exists on ${step.uplink.proxy}`, {
      node: step.node,
    });
  if (!res.ok)
    throw new TargetError(
      `toxiproxy: adding ${step.toxic.name}: HTTP ${res.status} ${(await res.text()).trim()}`,
      { node: step.node },
    );
}

/** What the steps of one applied fault share: its journal handles, delayed-step timers and their errors. */
interface ApplyState {
  readonly dep: FaultSurface;
  readonly fault: ResolvedFault;
  readonly registry: CleanupRegistry;
  readonly signal: AbortSignal | undefined;
  readonly handles: Revertible[];
  readonly timers: Set<NodeJS.Timeout>;
  /** Delayed steps that have started: a revert waits for them (a restart in flight ends healthy first). */
  readonly inflight: Set<Promise<void>>;
  readonly laterErrors: unknown[];
  reverting: boolean;
}

function dropHandle(st: ApplyState, h: CleanupHandle): void {
  h.forget();
  st.handles.splice(st.handles.indexOf(h), 1);
}

async function execStep(st: ApplyState, s: Extract<FaultStep, { op: 'exec' }>): Promise<void> {
  const shell = need(st.dep, 'shell', st.dep.shell, s.node)(s.node);
  let h: CleanupHandle | undefined;
  if (s.undo) {
    const u = shell.undoEntry(s.undo);
    h = st.registry.add(u.kind, s.what, u.data);
    st.handles.push(h);
  }
  try {
    await shell.exec(s.argv, s.input === undefined ? {} : { input: s.input });
  } catch (err) {
    // The thing already existed (another fault's table or qdisc): it is not ours to undo.
    if (h && err instanceof CommandError && conflict.test(err.stderr)) dropHandle(st, h);
    throw err;
  }
}

async function toxicStep(st: ApplyState, s: Extract<FaultStep, { op: 'toxic' }>): Promise<void> {
  const h = st.registry.add('toxiproxy-toxic', s.what, {
    api: s.uplink.api,
    proxy: s.uplink.proxy,
    toxic: s.toxic.name,
  });
  st.handles.push(h);
  try {
    await toxicAdd(s);
  } catch (err) {
    if (err instanceof ToxicConflict) dropHandle(st, h);
    throw err;
  }
}

async function spawnStep(st: ApplyState, s: Extract<FaultStep, { op: 'spawn' }>): Promise<void> {
  const p = await need(
    st.dep,
    'shell',
    st.dep.shell,
    s.node,
  )(s.node).spawn(s.argv, {
    what: s.what,
    registry: st.registry,
    inResourceGroup: s.inResourceGroup,
    logName: `${s.node}-${st.fault.id}-${st.fault.kind}`,
  });
  st.handles.push(p.handle);
  void p.exited.then((e) => {
    if (!st.reverting) log.debug(`${s.what} exited (${e.code ?? e.signal})`);
  });
}

/** Delayed steps run on a timer; their errors are kept (laterErrors), not thrown. */
function afterStep(st: ApplyState, s: Extract<FaultStep, { op: 'after' }>): void {
  const t = setTimeout(() => {
    st.timers.delete(t);
    if (st.reverting) return;
    const p = (async () => {
      for (const inner of s.steps) {
        if (st.reverting) return;
        await runStep(st, inner);
      }
    })().catch((err: unknown) => {
      st.laterErrors.push(err);
      log.warn(`${s.what}: ${err instanceof Error ? err.message : String(err)}`);
    });
    st.inflight.add(p);
    void p.finally(() => st.inflight.delete(p));
  }, s.delayMs);
  st.timers.add(t);
}

async function runStep(st: ApplyState, s: FaultStep): Promise<void> {
  const { dep } = st;
  switch (s.op) {
    case 'exec':
      return execStep(st, s);
    case 'toxic':
      return toxicStep(st, s);
    case 'spawn':
      return spawnStep(st, s);
    case 'signal':
      await need(dep, 'stack', dep.stack, s.node).signalStack(s.node, s.signal);
      return;
    case 'kill-all':
      await need(dep, 'stack', dep.stack, s.node).killAll(s.node);
      return;
    case 'start':
      await need(dep, 'stack', dep.stack, s.node).startStack(s.node, st.signal);
      return;
    case 'data-ctl':
      await need(dep, 'data', dep.data, s.node).control(s.node, s.words);
      return;
    case 'start-skewed':
      st.handles.push(
        await need(dep, 'clock', dep.clock, s.node).startSkewed(s.node, s.offsetSecs, st.registry, st.signal),
      );
      return;
    case 'freeze':
      st.handles.push(
        await need(dep, 'stack', dep.stack, s.node).freeze(s.node, st.registry, { method: s.method }),
      );
      return;
    case 'kube': {
      const h = await need(dep, 'kube', dep.kube, s.node).act(s.node, s.kube, st.registry);
      if (h) st.handles.push(h);
      return;
    }
    case 'after':
      afterStep(st, s);
      return;
  }
}

/**
 * Apply a fault to a deployment: validate and plan first (nothing changes on a bad param or node),
 * then run each step, journaling its undo before its effect. A failure half-way reverts what was done.
 */
export async function applyFault(
  target: FaultSurface | HasFaultSurface,
  input: Fault,
  registry: CleanupRegistry,
  opts: { signal?: AbortSignal } = {},
): Promise<AppliedFault> {
  const dep = surfaceOf(target);
  const fault = resolveFault(input);
  const plan = planFault(fault, planContext(dep));
  // A capability the target lacks is refused by name before the first step changes anything.
  const have = capabilitiesOf(dep);
  const lacking = [...planNeeds(plan)].filter((c) => !have.has(c));
  if (lacking.length)
    throw new TargetError(
      `${fault.kind}: target ${dep.target} lacks ${lacking.map((c) => capabilityNames[c]).join(' and ')} (refused before anything changed)`,
      { node: fault.node },
    );
  const st: ApplyState = {
    dep,
    fault,
    registry,
    signal: opts.signal,
    handles: [],
    timers: new Set(),
    inflight: new Set(),
    laterErrors: [],
    reverting: false,
  };

  let revertOnce: Promise<void> | undefined;
  const revert = (): Promise<void> =>
    (revertOnce ??= (async () => {
      st.reverting = true;
      for (const t of st.timers) clearTimeout(t);
      st.timers.clear();
      // A delayed step already running (a restart waiting for health) ends first: else the revert's
      // own start sees the stack running and returns at once, and the next fault meets a node that is
      // not up yet (its kill then shows as 'exited (SIGKILL) before it was healthy').
      await Promise.allSettled([...st.inflight]);
      // every undo last-first, then the plan's own revert steps in order — each attempted
      const followUps = plan.onRevert.map((s) => ({ what: s.what, revert: () => runStep(st, s) })).reverse();
      await revertLastFirst([...followUps, ...st.handles]);
    })());

  const t0 = performance.now();
  try {
    for (const s of plan.steps) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      await runStep(st, s);
    }
  } catch (err) {
    await revert().catch((e: unknown) => log.error(`reverting a half-applied ${fault.kind}: ${String(e)}`));
    throw err;
  }
  const applyMs = performance.now() - t0;
  log.debug(`applied ${plan.summary} in ${applyMs.toFixed(1)} ms`);
  return { plan, applyMs, laterErrors: st.laterErrors, revert, [Symbol.asyncDispose]: revert };
}
