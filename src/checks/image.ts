import { imageSize, type ImageSize } from '../images/archive.ts';
import type { CheckResult } from './types.ts';
import { formatMB, notProvided } from './types.ts';

/** Image size: compressed bytes of each image archive the stack ships; the largest is scored. */
export function checkImageSize(images: Record<string, string>, limitBytes: number): CheckResult {
  const title = 'Image size (compressed layers + config)';
  const entries = Object.entries(images);
  if (entries.length === 0)
    return notProvided('image-size', title, 'the stack manifest names no image archive');
  const sizes: Record<string, ImageSize> = Object.fromEntries(
    entries.map(([name, file]) => [name, imageSize(file)]),
  );
  const largest = Math.max(...Object.values(sizes).map((s) => s.compressedBytes));
  const over = Object.entries(sizes).filter(([, s]) => s.compressedBytes >= limitBytes);
  return {
    id: 'image-size',
    title,
    status: over.length === 0 ? 'passed' : 'failed',
    summary:
      Object.entries(sizes)
        .map(([n, s]) => `${n} ${formatMB(s.compressedBytes)}`)
        .join(', ') + ` (limit ${formatMB(limitBytes)})`,
    metrics: {
      'image.max.bytes': { value: largest, unit: 'B', source: 'check:image-size' },
      ...Object.fromEntries(
        Object.entries(sizes).map(([n, s]) => [
          `image.${n}.bytes`,
          { value: s.compressedBytes, unit: 'B', source: 'check:image-size' },
        ]),
      ),
    },
    evidence: { images: sizes },
  };
}
