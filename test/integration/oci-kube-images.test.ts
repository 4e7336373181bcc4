import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { imageSize } from '../../src/images/archive.ts';
import { loadStack } from '../../src/stack/manifest.ts';
import { loadManifests } from '../../src/targets/kube/manifests.ts';
import { roleImage } from '../../src/targets/local/oci/node.ts';

/** Container images the manifests' pod templates name. */
function podImages(objs: KubernetesObject[]): string[] {
  return objs.flatMap((o) => {
    const spec = (o as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } }).spec;
    return (spec?.template?.spec?.containers ?? []).flatMap((c) => (c.image ? [c.image] : []));
  });
}

/** Images the manifests name that are not a tag of one of the stack's archives (what the local target runs). */
function unknownImages(objs: KubernetesObject[], archives: readonly string[]): string[] {
  const tags = new Set(archives.flatMap((a) => imageSize(a).tags));
  return podImages(objs).filter((i) => !tags.has(i));
}

describe('kubernetes manifests and the local runtime use the same images', () => {
  it("should name in stack/deploy only tags of the stack's image archives (kind loads those archives; local runs them)", async () => {
    const stack = await loadStack();
    const objs = loadManifests(stack.kube!.manifests);
    const images = podImages(objs);
    assert.ok(images.length >= 2, `pod templates name images: ${images.join(', ')}`);
    assert.deepEqual(unknownImages(objs, Object.values(stack.images)), []);
    // the edge role's image (what the local target runs as a container) is the edge-agent pods' image
    const edgeTags = imageSize(roleImage(stack.edge)!).tags;
    assert.ok(
      images.some((i) => edgeTags.includes(i)),
      `${edgeTags.join(',')} in ${images.join(', ')}`,
    );
    // and the check sees a manifest that names another image
    const drifted = structuredClone(objs);
    const c = (
      drifted.find((o) => podImages([o]).length) as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      }
    ).spec.template.spec.containers[0]!;
    c.image = 'edgechaos/edge-agent:latest';
    assert.deepEqual(unknownImages(drifted, Object.values(stack.images)), ['edgechaos/edge-agent:latest']);
  });
});
