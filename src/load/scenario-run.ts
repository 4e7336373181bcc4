import { VuConnections, type Killable } from './http-client.ts';
import { IterationInterrupted, runtime, type VuState } from './runtime.ts';
import { arrivalTimes, vuTarget, type PlannedScenario } from './schedule.ts';
import { ownsArrival, type Segment } from './segment.ts';

/**
 * One scenario of a run: its VUs and its executor (closed-loop executors, ramping-vus, arrival
 * rates), iterations that never reject (an exception is a failed iteration, counted), gracefulStop.
 */

/** Wait until performance.now() reaches `at` or the signal fires; the listener is always removed. */
export function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  const ms = at - performance.now();
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** Resolves true when every promise settled within ms, false otherwise. */
export async function settleWithin(ps: Iterable<Promise<unknown>>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([
    Promise.allSettled([...ps]).then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
  ]);
  clearTimeout(timer);
  return ok;
}

/**
 * The arrival loop's clock: one timer at a time and one abort listener for the whole scenario (not
 * one per arrival: at 10k arrivals/s, adding and removing listeners was a visible cost).
 */
class Sleeper {
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.fire(), { once: true });
  }
  private fire(): void {
    clearTimeout(this.timer);
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  until(at: number): Promise<void> {
    const ms = at - performance.now();
    if (ms <= 0 || this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => this.fire(), ms);
    });
  }
}

let vuSeq = 0;

interface Vu {
  state: VuState;
  ctl: AbortController;
  /** Make `ctl` abort the VU's requests in flight (one listener per controller). */
  watch(c: AbortController): void;
}

export class ScenarioRun {
  stopping = false;
  iter = 0;
  readonly inflight = new Set<Promise<void>>();
  readonly vus: Vu[] = [];
  errors = 0;
  dropped = 0;
  active = 0;
  constructor(
    readonly s: PlannedScenario,
    readonly fn: (data: unknown) => unknown,
    readonly data: unknown,
    readonly testAbort: AbortSignal,
    readonly log: (line: string) => void,
    readonly tags: Record<string, string>,
    /** This runner's execution segment (--load-replicas) and its sequence's denominator. */
    readonly segment?: { seg: Segment; d: number },
  ) {}

  /**
   * The iteration's index in the whole test (exec.scenario.iterationInTest), unique across the
   * segments of one sequence: an arrival's global index, else the local count interleaved by the
   * segment's first position (local·D + position), so write ids built from it never collide.
   */
  private nextIndex(arrival?: number): number {
    const local = this.iter++;
    const g = this.segment;
    if (!g) return local;
    if (arrival !== undefined) return arrival;
    return local * g.d + (g.seg.from.n * g.d) / g.seg.from.d;
  }

  newVu(): Vu {
    const ctl = new AbortController();
    const killers = new Set<Killable>();
    const watch = (c: AbortController): void =>
      c.signal.addEventListener('abort', () => {
        for (const k of [...killers]) k.kill(new Error('aborted'));
      });
    const env = Object.keys(this.s.env).length ? { ...runtime.env, ...this.s.env } : runtime.env;
    const v: Vu = {
      ctl,
      watch,
      state: {
        vu: ++vuSeq,
        iter: 0,
        iterInScenario: 0,
        scenario: this.s,
        env,
        tags: this.tags,
        group: '',
        intendedStart: 0,
        firstRequest: false,
        signal: ctl.signal,
        killers,
        http: new VuConnections(),
      },
    };
    watch(ctl);
    this.vus.push(v);
    runtime.registry.builtin.vus_max.add(vuSeq, undefined);
    return v;
  }

  /** Run one iteration on a VU; never rejects: an exception is a failed iteration, counted. */
  async iterate(v: Vu, intended?: number, arrival?: number): Promise<void> {
    const st = v.state;
    if (st.signal.aborted) {
      v.ctl = new AbortController();
      st.signal = v.ctl.signal;
      v.watch(v.ctl);
    }
    const start = performance.now();
    st.intendedStart = intended ?? start;
    st.firstRequest = intended !== undefined;
    st.iterInScenario = this.nextIndex(arrival);
    st.group = '';
    this.active++;
    let interrupted = false;
    try {
      await runtime.als.run(st, this.fn, this.data);
    } catch (e) {
      if (IterationInterrupted.is(e) || st.signal.aborted) interrupted = true;
      else {
        this.errors++;
        const message = e instanceof Error ? e.message : String(e);
        runtime.out.emit({ type: 'error', t: runtime.now(), scenario: this.s.name, message });
        if (this.errors <= 10) this.log(`scenario ${this.s.name}: iteration failed: ${message}`);
        if (this.errors === 10)
          this.log(`scenario ${this.s.name}: further iteration errors are counted, not logged`);
      }
    } finally {
      this.active--;
      st.iter++;
    }
    if (!interrupted) {
      const b = runtime.registry.builtin;
      b.iterations.add(1, this.tags);
      b.iteration_duration.add(performance.now() - st.intendedStart, this.tags);
    }
  }

  track(p: Promise<void>): Promise<void> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  /** End: no new iterations; in-flight ones get gracefulStop, then are interrupted. */
  async finish(loops: Promise<void>[]): Promise<void> {
    this.stopping = true;
    const all = [...loops, ...this.inflight];
    const grace = this.testAbort.aborted ? 0 : this.s.gracefulStopMs;
    if (grace > 0 && (await settleWithin(all, grace))) return;
    for (const v of this.vus) v.ctl.abort();
    if (!(await settleWithin([...loops, ...this.inflight], 5000)))
      this.log(
        `scenario ${this.s.name}: iterations still running 5 s after they were interrupted; left behind`,
      );
  }

  async closedLoop(v: Vu, more: () => boolean): Promise<void> {
    while (!this.stopping && more()) await this.iterate(v);
  }

  async run(): Promise<void> {
    const s = this.s;
    const S = performance.now();
    const end = S + s.durationMs;
    const timeUp = (): boolean => performance.now() >= end;
    const stopAtEnd = async (loops: Promise<void>[]): Promise<void> => {
      // Whichever first: all loops done, the duration over, or the test aborted.
      const ctl = new AbortController();
      const onAbort = (): void => ctl.abort();
      this.testAbort.addEventListener('abort', onAbort);
      void Promise.allSettled(loops).then(() => ctl.abort());
      await sleepUntil(end, ctl.signal);
      this.testAbort.removeEventListener('abort', onAbort);
      await this.finish(loops);
    };
    switch (s.executor) {
      case 'constant-vus': {
        const loops = Array.from({ length: s.vus }, () => this.closedLoop(this.newVu(), () => !timeUp()));
        return stopAtEnd(loops);
      }
      case 'shared-iterations': {
        let left = s.iterations;
        const loops = Array.from({ length: s.vus }, () =>
          this.closedLoop(this.newVu(), () => !timeUp() && left-- > 0),
        );
        return stopAtEnd(loops);
      }
      case 'per-vu-iterations': {
        const loops = Array.from({ length: s.vus }, () => {
          let left = s.iterations;
          return this.closedLoop(this.newVu(), () => !timeUp() && left-- > 0);
        });
        return stopAtEnd(loops);
      }
      case 'ramping-vus':
        return this.rampingVus(S, end);
      default:
        return this.arrivalRate(S, end);
    }
  }

  private async rampingVus(S: number, end: number): Promise<void> {
    const s = this.s;
    let target = vuTarget(s, 0);
    const slots: { v: Vu; loop?: Promise<void>; downSince?: number }[] = [];
    const loops: Promise<void>[] = [];
    const tick = (): void => {
      const now = performance.now();
      target = vuTarget(s, now - S);
      for (let i = 0; i < target; i++) {
        const slot = (slots[i] ??= { v: this.newVu() });
        slot.downSince = undefined;
        if (!slot.loop) {
          const idx = i;
          const p = this.closedLoop(slot.v, () => idx < target && performance.now() < end).finally(() => {
            slot.loop = undefined;
          });
          slot.loop = p;
          loops.push(p);
        }
      }
      // VUs above the target finish their iteration; past gracefulRampDown they are interrupted.
      for (let i = target; i < slots.length; i++) {
        const slot = slots[i]!;
        if (!slot.loop) continue;
        slot.downSince ??= now;
        if (now - slot.downSince >= s.gracefulRampDownMs) slot.v.ctl.abort();
      }
    };
    tick();
    while (performance.now() < end && !this.testAbort.aborted) {
      await sleepUntil(Math.min(end, performance.now() + 50), this.testAbort);
      tick();
    }
    await this.finish(loops);
  }

  private async arrivalRate(S: number, end: number): Promise<void> {
    const s = this.s;
    const idle: Vu[] = [];
    for (let i = 0; i < s.preAllocatedVUs; i++) idle.push(this.newVu());
    let allocated = s.preAllocatedVUs;
    const gen = arrivalTimes(s);
    const seg = this.segment;
    // Arrival k (of the whole test) is this runner's when its segment owns it; times stay the test's.
    let k = -1;
    const step = (): IteratorResult<number> => {
      for (;;) {
        const r = gen.next();
        k++;
        if (r.done || !seg || ownsArrival(k, seg.seg, seg.d)) return r;
      }
    };
    let next = step();
    const b = runtime.registry.builtin;
    const clock = new Sleeper(this.testAbort);
    while (!next.done && !this.testAbort.aborted) {
      const now = performance.now();
      const due = S + next.value;
      if (due > now) {
        await clock.until(due);
        continue;
      }
      // Every arrival that is due starts now, measured from when it was due.
      while (!next.done && S + next.value <= now) {
        let v = idle.pop();
        if (!v && allocated < s.maxVUs) {
          v = this.newVu();
          allocated++;
        }
        if (!v) {
          this.dropped++;
          b.dropped_iterations.add(1, this.tags);
          runtime.out.emit({ type: 'dropped', t: runtime.now(), scenario: s.name });
        } else {
          const vu = v;
          void this.track(this.iterate(vu, S + next.value, k).finally(() => idle.push(vu)));
        }
        next = step();
      }
    }
    await sleepUntil(end, this.testAbort);
    await this.finish([]);
  }
}
