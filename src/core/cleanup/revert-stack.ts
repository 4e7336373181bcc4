import { FaultRevertError } from '../errors.ts';

/** Something applied that can be undone. */
export interface Undoable {
  readonly what: string;
  revert(): Promise<void>;
}

/**
 * The one revert policy: undo last-applied first, attempt every one even when some fail, then throw a
 * FaultRevertError that lists every failure (never stop at the first, never swallow one).
 */
export async function revertLastFirst(
  items: readonly Undoable[],
  onError?: (what: string, error: unknown) => void,
): Promise<void> {
  const failures: { what: string; error: unknown }[] = [];
  for (const h of [...items].reverse()) {
    try {
      await h.revert();
    } catch (error) {
      onError?.(h.what, error);
      failures.push({ what: h.what, error });
    }
  }
  if (failures.length) throw new FaultRevertError(failures);
}
