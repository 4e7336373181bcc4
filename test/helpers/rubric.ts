/** A rubric criterion (image size, weight 10) for a test rubric, with `over` replacing its fields. */
export const crit = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'a',
  title: 'A',
  area: 'lightweight-images',
  weight: 10,
  terms: [{ metric: 'image.max.bytes', direction: 'lower-is-better', best: 5e6, worst: 50e6 }],
  ...over,
});
