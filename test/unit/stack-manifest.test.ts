import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findOnPath, loadStack } from '../../src/stack/manifest.ts';
import { scenarioErrorAt } from '../helpers/errors.ts';
import { tempDir, writeJson } from '../helpers/temp.ts';

function manifest(dir: string, edge: string[], hub: string[] = ['/bin/true']): string {
  return writeJson(dir, 'my.stack.json', {
    name: 'mine',
    edge: { command: edge, port: 7001 },
    hub: { command: hub, port: 7000 },
  });
}

async function rejectsAt(file: string, field: string, msg: RegExp): Promise<void> {
  await assert.rejects(loadStack(file), scenarioErrorAt(field, msg, { file }));
}

describe('stack manifest commands', () => {
  it('should reject a command without "/" that is not on PATH', async () => {
    using dir = tempDir('stack');
    await rejectsAt(
      manifest(dir.path, ['edge-agnet', '--x']),
      'edge.command[0]',
      /command "edge-agnet" is not on PATH/,
    );
  });
  it('should reject a command path that does not exist', async () => {
    using dir = tempDir('stack');
    await rejectsAt(
      manifest(dir.path, ['/bin/true'], ['./bin/hub']),
      'hub.command[0]',
      /bin\/hub does not exist/,
    );
  });
  it('should reject a command path that is not executable', async () => {
    using dir = tempDir('stack');
    writeFileSync(join(dir.path, 'agent'), '#!/bin/sh\n');
    chmodSync(join(dir.path, 'agent'), 0o644);
    await rejectsAt(manifest(dir.path, ['./agent']), 'edge.command[0]', /agent is not an executable file/);
  });
  it('should accept commands found on PATH and executable paths', async () => {
    using dir = tempDir('stack');
    const m = await loadStack(manifest(dir.path, ['sh', '-c', 'true'], ['/bin/true']));
    assert.equal(m.edge.command[0], 'sh');
    assert.ok(findOnPath('sh')?.endsWith('/sh'));
    assert.equal(findOnPath('no-such-command-edgechaos'), undefined);
  });
});
