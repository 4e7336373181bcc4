/**
 * OpenSSH hands the board one command string, which the login shell parses. Every argument is quoted
 * here (pure, unit-tested), so argv arrays stay argv arrays on the board: nothing the harness passes
 * is ever re-split or expanded there.
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_/.:=@%+,-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The remote command string for `argv`, through `sudo -n` when the host needs it. */
export function remoteCommand(argv: readonly string[], opts: { sudo?: boolean } = {}): string {
  if (argv.length === 0) throw new Error('remoteCommand: empty argv');
  const full = opts.sudo ? ['sudo', '-n', '--', ...argv] : [...argv];
  return full.map(shellQuote).join(' ');
}
