import type { HttpSample } from '../../src/load/summary.ts';

/** A load-runner http sample of a write (POST, scenario s): 201 when ok, else 503. */
export const httpSample = (t: number, duration: number, ok = true, node = 'edge-1'): HttpSample => ({
  type: 'http',
  t,
  scenario: 's',
  method: 'POST',
  name: 'write',
  node,
  status: ok ? 201 : 503,
  ok,
  duration,
});
