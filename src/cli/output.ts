/** Printing helpers for the CLI: tables for people, JSON for machines. */
export { table } from '../core/text-table.ts';
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
