/**
 * Exit codes the CLI documents: 0 pass, 1 a gate failed, 2 usage/config error, 3 environment/tool
 * missing, 99 only the load script's thresholds failed (as k6 exits), 130 interrupted (Ctrl-C /
 * SIGTERM, the shell's 128 + SIGINT convention).
 */
export const ExitCode = {
  Pass: 0,
  GateFailed: 1,
  Usage: 2,
  Environment: 3,
  ThresholdsFailed: 99,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorContext {
  /** File the error concerns (scenario, manifest, rubric, inventory). */
  file?: string;
  /** Dotted path of the field inside that file. */
  field?: string;
  /** Node (edge-1, cloud, a board) the error concerns. */
  node?: string;
  cause?: unknown;
}

/** Base of every error edgechaos raises on purpose; `exitCode` tells the CLI how to end. */
export class EdgechaosError extends Error {
  readonly exitCode: ExitCode = ExitCode.Environment;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly node: string | undefined;

  constructor(message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.file = ctx.file;
    this.field = ctx.field;
    this.node = ctx.node;
  }

  /** One line for humans: where, then what. */
  describe(): string {
    const where = [
      this.file,
      this.field ? `field ${this.field}` : undefined,
      this.node ? `node ${this.node}` : undefined,
    ]
      .filter(Boolean)
      .join(': ');
    return where ? `${where}: ${this.message}` : this.message;
  }
}

/** Bad command-line usage (unknown option value, missing argument). */
export class UsageError extends EdgechaosError {
  override readonly exitCode = ExitCode.Usage;
}

/** A scenario, stack manifest, rubric or inventory that does not validate. */
export class ScenarioError extends EdgechaosError {
  override readonly exitCode = ExitCode.Usage;
}

/** An external tool edgechaos needs is absent or at the wrong version. */
export class ToolMissingError extends EdgechaosError {
  override readonly exitCode = ExitCode.Environment;
  constructor(
    readonly tool: string,
    readonly hint: string,
    ctx: ErrorContext = {},
  ) {
    super(`${tool} is missing: ${hint}`, ctx);
  }
}

/** The target (host, namespaces, cluster, board) refused or failed an operation. */
export class TargetError extends EdgechaosError {
  override readonly exitCode = ExitCode.Environment;
}

/** A command run by edgechaos exited non-zero. */
export class CommandError extends EdgechaosError {
  override readonly exitCode = ExitCode.Environment;
  constructor(
    readonly argv: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
    ctx: ErrorContext = {},
  ) {
    super(
      `command failed (exit ${code ?? 'signal'}): ${argv.join(' ')}${stderr ? ` — ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
      ctx,
    );
  }
}

/** A deadline ran out. */
export class TimeoutError extends EdgechaosError {
  override readonly exitCode = ExitCode.Environment;
}

/** One or more reverts failed; every other revert was still attempted. */
export class FaultRevertError extends EdgechaosError {
  override readonly exitCode = ExitCode.Environment;
  constructor(readonly failures: { what: string; error: unknown }[]) {
    super(
      `${failures.length} revert(s) failed: ` +
        failures
          .map((f) => `${f.what}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
          .join('; '),
    );
  }
}
