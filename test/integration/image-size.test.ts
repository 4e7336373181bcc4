import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkImageSize } from '../../src/checks/image.ts';
import { ScenarioError } from '../../src/core/errors.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { imageSize } from '../../src/images/archive.ts';

const dist = join(repoRoot, 'stack/dist');

describe('image size from OCI archives built without a daemon', () => {
  it('should measure the reference images under 10 MB compressed', () => {
    const r = checkImageSize(
      {
        'edge-agent': join(dist, 'images/edge-agent-amd64.tar'),
        'cloud-hub': join(dist, 'images/cloud-hub-amd64.tar'),
      },
      10e6,
    );
    assert.equal(r.status, 'passed', r.summary);
    const edge = r.metrics['image.edge-agent.bytes']!.value;
    assert.ok(edge > 500_000 && edge < 10e6, `edge-agent image ${edge} B`);
  });
  it('should fail the padded image fixture', () => {
    const r = checkImageSize(
      { 'edge-agent': join(dist, 'fixtures/images/edge-agent-padded-amd64.tar') },
      10e6,
    );
    assert.equal(r.status, 'failed');
    assert.ok(r.metrics['image.max.bytes']!.value > 10e6);
  });
  it('should give a clear error for a file that is not an image archive', () => {
    assert.throws(() => imageSize(join(repoRoot, 'package.json')), ScenarioError);
  });
});
