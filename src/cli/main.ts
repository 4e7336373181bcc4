import { CommanderError } from 'commander';
import { EdgechaosError, ExitCode } from '../core/errors.ts';
import { redact, setLogLevel } from '../core/logger.ts';
import { installShutdown } from '../core/shutdown.ts';
import { buildProgram, type ProgramResult } from './program.ts';

/** Parse argv, run the command, map errors to one clear line and an exit code. */
export async function main(argv: string[]): Promise<number> {
  const result: ProgramResult = { code: 0 };
  const shutdown = installShutdown(() => Promise.resolve());
  const program = buildProgram(result, shutdown.signal);
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  if (verbose) setLogLevel('debug');
  try {
    await program.parseAsync(argv);
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version end with exit 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? 0 : ExitCode.Usage;
    }
    if (err instanceof EdgechaosError) {
      console.error(`edgechaos: ${redact(err.describe())}`);
      if (verbose && err.stack) console.error(redact(err.stack));
      return err.exitCode;
    }
    console.error(`edgechaos: unexpected error: ${redact(err instanceof Error ? err.message : String(err))}`);
    if (verbose && err instanceof Error && err.stack) console.error(redact(err.stack));
    return ExitCode.Environment;
  } finally {
    shutdown.dispose();
  }
}
