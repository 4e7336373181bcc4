/** k6's `k6/execution`: who and where the current iteration is, and `test.abort()`. */
import { IterationInterrupted, runtime } from '../runtime.ts';

const exec = {
  vu: {
    get idInTest(): number {
      return runtime.current()?.vu ?? 0;
    },
    get iterationInInstance(): number {
      return runtime.current()?.iter ?? 0;
    },
    get iterationInScenario(): number {
      return runtime.current()?.iterInScenario ?? 0;
    },
  },
  scenario: {
    get name(): string {
      return runtime.current()?.scenario?.name ?? '';
    },
    get executor(): string {
      return runtime.current()?.scenario?.executor ?? '';
    },
    get iterationInTest(): number {
      return runtime.current()?.iterInScenario ?? 0;
    },
    get startTime(): number {
      return runtime.current()?.scenario?.startTimeMs ?? 0;
    },
  },
  test: {
    /** Stop the whole run now (like k6: teardown and handleSummary still run). */
    abort(reason = 'test.abort() called'): never {
      runtime.abortTest(reason);
      throw new IterationInterrupted();
    },
  },
};

export default exec;
