import { EdgechaosError, ExitCode } from './errors.ts';
import { logger } from './logger.ts';

const log = logger('shutdown');

export class InterruptedError extends EdgechaosError {
  override readonly exitCode = ExitCode.Interrupted;
}

export interface Shutdown {
  /** Aborts on the first SIGINT/SIGTERM: every async path should watch it. */
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * First Ctrl-C (or SIGTERM): abort gracefully — the campaign's finally blocks revert faults, and the
 * command ends with exit 130. Second: run `force` (revert what is left, quickly) and exit 130 at
 * once. Exit never hangs: 10 s after the second signal the process exits whatever `force` is doing.
 */
export function installShutdown(force: () => Promise<void>): Shutdown {
  const ac = new AbortController();
  let count = 0;
  const handler = (sig: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      log.warn(`${sig}: stopping gracefully, reverting faults (press Ctrl-C again to force)`);
      ac.abort(new InterruptedError(`interrupted by ${sig}`));
      return;
    }
    log.warn(`${sig} again: forcing revert and exit`);
    const hardStop = setTimeout(() => process.exit(ExitCode.Interrupted), 10_000);
    hardStop.unref();
    force()
      .catch((err: unknown) =>
        log.error(`forced revert: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => process.exit(ExitCode.Interrupted));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
