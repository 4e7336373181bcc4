import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/temp.ts';

describe('CLI output into a closed pipe', () => {
  it('should end quietly, without an EPIPE trace, when the reader has gone (`cleanup | head`)', async () => {
    using state = tempDir('epipe');
    const child = spawn(process.execPath, [join(repoRoot, 'bin/edgechaos.mjs'), 'cleanup'], {
      env: { ...process.env, EDGECHAOS_STATE_DIR: state.path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader goes away before the command writes its first line: its writes fail with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.doesNotMatch(stderr, /EPIPE|Error|at /, stderr);
    assert.equal(code, 0, stderr);
  });
});
