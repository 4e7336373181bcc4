import { join } from 'node:path';
import { CleanupRegistry, newRunId } from '../core/cleanup/registry.ts';
import { formatDuration } from '../core/duration.ts';
import { ambientEngine, ensureDockerd } from './dockerd.ts';
import { ensureKindBinary, ensureNodeImage, imageSize, readKindLock } from './kind-image.ts';

/** One line of bootstrap's report (same shape as bootstrap.ts's StepResult). */
export interface KindStep {
  step: string;
  status: 'present' | 'installed' | 'built' | 'cached' | 'skipped';
  detail: string;
  ms: number;
}

/**
 * `bootstrap --kind` after the Debian packages and the control plane: kind at its pin; then, unless
 * an engine that can pull is already there (a CI runner: kind's own kindest/node is used), the
 * private dockerd and the offline node image (built, or copied from the machine cache and loaded).
 * The engine is journaled and stopped again when bootstrap ends; its data-root keeps the image.
 */
export async function bootstrapKind(logDir: string, record: (r: KindStep) => void): Promise<void> {
  const lock = readKindLock();
  record({ step: 'kind', ...(await ensureKindBinary(lock, join(logDir, 'kind.log'))) });
  const ambient = await ambientEngine();
  if (ambient) {
    record({
      step: 'kind-node-image',
      status: 'skipped',
      detail: `Docker ${ambient} at DOCKER_HOST: kind uses its own kindest/node image`,
      ms: 0,
    });
    return;
  }
  const registry = CleanupRegistry.open(newRunId('bootstrap-kind'));
  try {
    const t0 = Date.now();
    const engine = await ensureDockerd(registry);
    record({
      step: 'dockerd',
      status: engine.started ? 'installed' : 'present',
      detail: `${engine.version} ${engine.host}${engine.workarounds.length ? ` (${engine.workarounds.join('; ')})` : ''}`,
      ms: Date.now() - t0,
    });
    const img = await ensureNodeImage(lock, join(logDir, 'kind-node-image.log'));
    const size = await imageSize(img.ref);
    record({
      step: 'kind-node-image',
      status: img.status,
      detail: `${img.ref}${size ? ` ${(size / 1e9).toFixed(2)} GB` : ''}${img.loadMs !== undefined ? `, docker load ${formatDuration(img.loadMs)}` : ''}`,
      ms: img.ms + (img.loadMs ?? 0),
    });
  } finally {
    await registry.close();
  }
}
