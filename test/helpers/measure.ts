/** The median of `n` runs of `fn` (run one after another). */
export async function median(fn: () => Promise<number>, n = 5): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(n / 2)]!;
}
