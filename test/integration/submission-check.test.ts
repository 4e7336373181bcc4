import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../src/core/paths.ts';
import { checkSubmission } from '../../src/tournament/submission.ts';
import { cli } from '../helpers/cli.ts';
import { isolatedRunDirs, tempDir } from '../helpers/temp.ts';

const bin = join(repoRoot, 'stack/dist/bin/linux-amd64');
const images = join(repoRoot, 'stack/dist/images');

/** `edgechaos submission check`: real manifests, real image archives, the real conformance suite. */
describe('submission check', () => {
  const dirs = isolatedRunDirs(before, after);
  const env = (): NodeJS.ProcessEnv => ({
    EDGECHAOS_STATE_DIR: dirs.state,
    EDGECHAOS_REPORTS_DIR: dirs.reports,
  });

  it('should pass the reference stack (schema, commands, images, every contract behaviour)', async () => {
    const r = await cli(['submission', 'check', 'stack/edgechaos.stack.ts'], env());
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /fit to enter \(2 image\(s\)/);
    assert.match(r.err, /conform: passed\s+durable-across-kill/);
  });

  it('should refuse a stack that fails contract behaviours, one line per behaviour naming the file', async () => {
    const r = await cli(['submission', 'check', 'test/fixtures/stacks/refuse-offline.stack.ts'], env());
    assert.equal(r.code, 2, r.out);
    const lines = r.err.split('\n').filter((l) => !l.startsWith('conform:') && l.trim());
    assert.deepEqual(
      lines.map((l) => /^(\S+): field (\S+):/.exec(l)?.slice(1)),
      [
        ['test/fixtures/stacks/refuse-offline.stack.ts', 'conformance.offline-serving'],
        ['test/fixtures/stacks/refuse-offline.stack.ts', 'conformance.durable-across-kill'],
      ],
    );
  });

  it('should report every schema problem of a folder submission, each naming file and field, and start nothing', async () => {
    using sub = tempDir('submission-schema');
    writeFileSync(
      join(sub.path, 'edgechaos.stack.ts'),
      `export default { name: 'team-x', edge: { command: [], port: 70000 }, hub: { command: ['${bin}/cloud-hub'], port: 7000 }, colour: 'red' };\n`,
    );
    const r = await cli(['submission', 'check', sub.path], env());
    assert.equal(r.code, 2);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 3, r.err);
    for (const field of ['edge.command', 'edge.port', 'colour'])
      assert.ok(
        lines.some((l) => l.includes('edgechaos.stack.ts: field ' + field + ':')),
        `${field} in\n${r.err}`,
      );
    assert.doesNotMatch(r.err, /conform:/);
  });

  it('should name each missing or unloadable image and each missing command, and not start the stack', async () => {
    using sub = tempDir('submission-images');
    writeFileSync(join(sub.path, 'junk.tar'), Buffer.alloc(4096, 7));
    writeFileSync(
      join(sub.path, 'team.stack.ts'),
      `export default { name: 'team-y', edge: { command: ['./edge-agent'], port: 7001 }, hub: { command: ['${bin}/cloud-hub'], port: 7000 },
  images: { 'edge-agent': './missing.tar', 'cloud-hub': './junk.tar' } };\n`,
    );
    const r = await cli(['submission', 'check', sub.path], env());
    assert.equal(r.code, 2);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 3, r.err);
    assert.match(r.err, /team\.stack\.ts: field edge\.command\[0\]: .*edge-agent does not exist/);
    assert.match(
      r.err,
      /team\.stack\.ts: field images\.edge-agent: image archive .*missing\.tar does not exist/,
    );
    assert.match(r.err, /team\.stack\.ts: field images\.cloud-hub: not a loadable image archive/);
  });

  it('should hold images to the size limit', async () => {
    const ac = new AbortController();
    const r = await checkSubmission(join(repoRoot, 'stack/edgechaos.stack.ts'), {
      signal: ac.signal,
      conformance: false,
      limits: { maxImageBytes: 1e6, maxFolderBytes: 1e9 },
    });
    assert.deepEqual(
      r.problems.map((p) => p.field),
      ['images.edge-agent', 'images.cloud-hub'],
    );
    assert.match(r.problems[0]!.message, /MB compressed, over the limit of 1 MB/);
    assert.ok(readdirSync(images).length > 0);
  });

  it('should leave nothing to clean up', async () => {
    const r = await cli(['cleanup', '--json'], env());
    assert.equal(r.code, 0, r.err);
    const reverted = JSON.parse(r.out) as { runs: unknown[] };
    assert.deepEqual(reverted.runs, []);
  });
});
