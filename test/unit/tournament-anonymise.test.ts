import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { anonymiseText, anonymiseTree, replacementsFor } from '../../src/tournament/anonymise.ts';

const root = '/srv/edgechaos';
const reps = replacementsFor(
  {
    name: 'acme-edge',
    pseudonym: 'sub-1111111111',
    stackName: 'Acme <Edge> Stack',
    manifest: '/srv/submissions/acme-team/edgechaos.stack.ts',
    recordedManifest: 'stack/edgechaos.stack.ts',
  },
  [{ name: 'zeta-edge', pseudonym: 'sub-2222222222', manifest: '/srv/submissions/zeta/stack.ts' }],
  root,
);

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('anonymised publishing of a run directory', () => {
  it('replaces names, the stack name (also HTML-escaped) and the manifest folder where a path starts', () => {
    const got = anonymiseText(
      '{"label":"acme-edge","stack":{"name":"Acme <Edge> Stack","file":"stack/edgechaos.stack.ts"}} ' +
        '<td>Acme &lt;Edge&gt; Stack</td> /srv/submissions/acme-team/dist/images/a.tar vs zeta-edge ' +
        '(its images: /srv/submissions/zeta/images/b.tar)',
      reps,
    );
    assert.equal(
      got,
      '{"label":"sub-1111111111","stack":{"name":"sub-1111111111","file":"sub-1111111111/edgechaos.stack.ts"}} ' +
        '<td>sub-1111111111</td> sub-1111111111/dist/images/a.tar vs sub-2222222222 ' +
        '(its images: sub-2222222222/images/b.tar)',
    );
  });

  it('leaves a folder name alone inside other words and paths', () => {
    const text = 'stackToken http://hub/stack/x ../other/stack/y stack-name /srv/submissions/acme-teams/z';
    assert.equal(anonymiseText(text, reps), text);
  });

  it('rewrites the whole tree: no name in any file or file name; binaries and links naming one removed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ec-anon-'));
    try {
      mkdirSync(join(dir, 'logs'));
      writeFileSync(
        join(dir, 'run.json'),
        JSON.stringify({ stack: { name: 'Acme <Edge> Stack' }, label: 'acme-edge' }),
      );
      writeFileSync(
        join(dir, 'index.html'),
        '<h1>Acme &lt;Edge&gt; Stack</h1><a href="logs/acme-edge.log">log</a>',
      );
      writeFileSync(join(dir, 'logs', 'acme-edge.log'), 'started /srv/submissions/acme-team/bin/agent\n');
      writeFileSync(join(dir, 'logs', 'edge-1.log'), 'nothing to hide\n');
      writeFileSync(join(dir, 'shot.bin'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('zeta-edge')]));
      symlinkSync('/srv/submissions/acme-team', join(dir, 'src-link'));
      symlinkSync('edge-1.log', join(dir, 'logs', 'latest'));
      const { rewritten, removed } = anonymiseTree(dir, reps);
      assert.deepEqual(removed.sort(), ['shot.bin', 'src-link']);
      assert.deepEqual(rewritten.sort(), ['index.html', 'logs/sub-1111111111.log', 'run.json']);
      assert.equal(readFileSync(join(dir, 'logs', 'edge-1.log'), 'utf8'), 'nothing to hide\n');
      assert.equal(
        readFileSync(join(dir, 'logs', 'latest'), 'utf8'),
        'nothing to hide\n',
        'a harmless link stays',
      );
      for (const f of files(dir)) {
        const text = `${relative(dir, f)}\n${readFileSync(f, 'utf8')}`;
        for (const secret of ['acme', 'Acme', 'zeta-edge', '/srv/submissions'])
          assert.ok(!text.includes(secret), `${relative(dir, f)} still holds ${secret}`);
      }
      assert.match(readFileSync(join(dir, 'index.html'), 'utf8'), /href="logs\/sub-1111111111.log"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
