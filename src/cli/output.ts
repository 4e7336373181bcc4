/** Printing helpers for the CLI: tables for people, JSON for machines. */
export { table } from '../core/text-table.ts';
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

let epipeInstalled = false;

/**
 * `edgechaos cleanup | head`: once the reader has gone, every write to stdout fails with EPIPE (an
 * 'error' event, fatal with a stack trace when nobody listens). Nobody is left to read the rest: from
 * then on stdout output is dropped, quietly, and the command runs to its end — a command that has
 * faults applied still reverts them — and exits with its own code. Other stdout errors still throw.
 * Installed once per process.
 */
export function quietOnEpipe(stream: NodeJS.WriteStream = process.stdout): void {
  if (epipeInstalled) return;
  epipeInstalled = true;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    // drop whatever is still written (console.log calls stream.write)
    stream.write = () => true;
  });
}
