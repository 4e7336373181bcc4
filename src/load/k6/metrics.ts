/** k6's `k6/metrics`: custom metrics `Trend`, `Counter`, `Rate`, `Gauge`, declared at the top level of a script. */
import type { Metric as RegistryMetric, MetricType } from '../metrics.ts';
import { runtime } from '../runtime.ts';

abstract class CustomMetric {
  readonly name: string;
  private readonly m: RegistryMetric;
  constructor(name: string, type: MetricType, isTime = false) {
    this.name = name;
    this.m = runtime.registry.declare(name, type, isTime);
  }
  protected record(value: number, tags?: Record<string, string>): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}.add: ${value} is not a finite number`);
    const st = runtime.current();
    const all = { ...runtime.globalTags, ...st?.tags, ...(st?.group ? { group: st.group } : {}), ...tags };
    this.m.add(value, all);
    runtime.out.emit({
      type: 'metric',
      t: runtime.now(),
      metric: this.name,
      value,
      ...(Object.keys(all).length ? { tags: all } : {}),
    });
  }
}

/** Statistics (min, max, avg, percentiles) of the values added; `isTime` formats them as durations. */
export class Trend extends CustomMetric {
  constructor(name: string, isTime = false) {
    super(name, 'trend', isTime);
  }
  add(value: number, tags?: Record<string, string>): void {
    this.record(value, tags);
  }
}

/** A cumulative sum. */
export class Counter extends CustomMetric {
  constructor(name: string) {
    super(name, 'counter');
  }
  add(value: number, tags?: Record<string, string>): void {
    this.record(value, tags);
  }
}

/** The share of added values that are non-zero (true). */
export class Rate extends CustomMetric {
  constructor(name: string) {
    super(name, 'rate');
  }
  add(value: number | boolean, tags?: Record<string, string>): void {
    this.record(value ? 1 : 0, tags);
  }
}

/** The last value added (plus min and max). */
export class Gauge extends CustomMetric {
  constructor(name: string, isTime = false) {
    super(name, 'gauge', isTime);
  }
  add(value: number, tags?: Record<string, string>): void {
    this.record(value, tags);
  }
}
