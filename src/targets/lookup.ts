import { UsageError } from '../core/errors.ts';

/** A deployment's node by name, or one clear error naming the node and listing the ones there are. */
export function nodeOrThrow<T>(nodes: ReadonlyMap<string, T>, name: string, runId: string): T {
  const n = nodes.get(name);
  if (n === undefined) {
    throw new UsageError(
      `no node "${name}" in deployment ${runId} (nodes: ${[...nodes.keys()].join(', ')})`,
      {
        node: name,
      },
    );
  }
  return n;
}
