import { CommanderError } from 'commander';
import { CleanupRegistry } from '../core/cleanup/registry.ts';
import { EdgechaosError, ExitCode, FaultRevertError } from '../core/errors.ts';
import { redact, setLogLevel } from '../core/logger.ts';
import { installShutdown, type Shutdown } from '../core/shutdown.ts';
import { quietOnEpipe } from './output.ts';
import { buildProgram, type ProgramResult } from './program.ts';

/**
 * The CLI's Ctrl-C handling: the first signal aborts gracefully (every command watches the signal and
 * reverts in its finally blocks); the second reverts everything this process's cleanup registries
 * still hold, with no graceful waits, then exits 130.
 */
export function installCliShutdown(): Shutdown {
  return installShutdown(async () => {
    const failures = await CleanupRegistry.forceRevertAll();
    if (failures.length) throw new FaultRevertError(failures);
  });
}

/** Parse argv, run the command, map errors to one clear line and an exit code. */
export async function main(argv: string[]): Promise<number> {
  quietOnEpipe();
  const result: ProgramResult = { code: 0 };
  const shutdown = installCliShutdown();
  const program = buildProgram(result, shutdown.signal);
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  if (verbose) setLogLevel('debug');
  // An interrupted command exits 130 however it ended (its reverts ran in its finally blocks).
  const interrupted = (code: number): number =>
    shutdown.signal.aborted && code !== ExitCode.Usage ? ExitCode.Interrupted : code;
  try {
    await program.parseAsync(argv);
    return interrupted(result.code);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version end with exit 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : ExitCode.Usage;
    }
    if (err instanceof EdgechaosError) {
      console.error(`edgechaos: ${redact(err.describe())}`);
      if (verbose && err.stack) console.error(redact(err.stack));
      return interrupted(err.exitCode);
    }
    console.error(`edgechaos: unexpected error: ${redact(err instanceof Error ? err.message : String(err))}`);
    if (verbose && err instanceof Error && err.stack) console.error(redact(err.stack));
    return interrupted(ExitCode.Environment);
  } finally {
    shutdown.dispose();
  }
}
