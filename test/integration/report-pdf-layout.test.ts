import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ToolMissingError } from '../../src/core/errors.ts';
import { readRunDir, writeReports } from '../../src/report/index.ts';
import { watchBrowsers } from './report-helpers.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'runs');

/**
 * How far down each PDF page the ink reaches (0 = blank, 1 = to the bottom), from `pdftoppm -gray` PGM
 * pages. A missing pdftoppm fails the test with the install hint.
 */
function inkDepth(pdf: string, dir: string): number[] {
  if (spawnSync('pdftoppm', ['-v']).error)
    assert.fail(
      'pdftoppm is missing: apt-get update && apt-get install -y poppler-utils (or scripts/bootstrap)',
    );
  const out = join(dir, 'pages');
  mkdirSync(out);
  execFileSync('pdftoppm', ['-r', '20', '-gray', pdf, join(out, 'p')]);
  return readdirSync(out)
    .sort()
    .map((f) => {
      const b = readFileSync(join(out, f));
      const [magic, w, h] = b.subarray(0, 40).toString('latin1').split(/\s+/);
      assert.equal(magic, 'P5');
      const width = Number(w);
      const height = Number(h);
      const data = b.subarray(b.length - width * height);
      let last = 0;
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++)
          if (data[y * width + x]! < 200) {
            last = y;
            break;
          }
      return last / height;
    });
}

describe('report PDF (Chromium print layout)', () => {
  let dir = '';
  const browsers = watchBrowsers();
  const saved = process.env['EDGECHAOS_CHROMIUM'];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgechaos-report-pdf-'));
  });

  after(() => {
    browsers.dispose();
    if (saved === undefined) delete process.env['EDGECHAOS_CHROMIUM'];
    else process.env['EDGECHAOS_CHROMIUM'] = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('should leave no half-empty page before the last one', async () => {
    const runDir = join(dir, 'failing');
    mkdirSync(runDir);
    copyFileSync(join(fixtures, 'failing', 'run.json'), join(runDir, 'run.json'));
    const w = await writeReports(runDir, readRunDir(runDir), { allure: false });
    const depth = inkDepth(w.pdf!, runDir);
    assert.ok(depth.length >= 3, `${depth.length} pages`);
    const short = depth
      .slice(0, -1)
      .map((d, i) => [i + 1, d] as const)
      .filter(([, d]) => d < 0.6);
    assert.deepEqual(short, [], `pages filled less than 60% (page, depth): ${JSON.stringify(depth)}`);
  });

  it('should use the browser EDGECHAOS_CHROMIUM names and refuse one that is not there', async () => {
    const runDir = join(dir, 'env');
    mkdirSync(runDir);
    copyFileSync(join(fixtures, 'passing', 'run.json'), join(runDir, 'run.json'));
    process.env['EDGECHAOS_CHROMIUM'] = '/usr/bin/chromium';
    const w = await writeReports(runDir, readRunDir(runDir), { allure: false });
    assert.ok(readFileSync(w.pdf!).subarray(0, 5).equals(Buffer.from('%PDF-')));
    rmSync(w.pdf!);
    process.env['EDGECHAOS_CHROMIUM'] = join(dir, 'no-such-chrome');
    await assert.rejects(
      writeReports(runDir, readRunDir(runDir), { allure: false }),
      (e: unknown) =>
        e instanceof ToolMissingError &&
        /no-such-chrome \(from EDGECHAOS_CHROMIUM\) is not an executable/.test(e.message),
    );
    // The other reports are written before the PDF is attempted.
    assert.ok(existsSync(join(runDir, 'index.html')) && existsSync(join(runDir, 'junit.xml')));
    assert.ok(!existsSync(join(runDir, 'report.pdf')));
  });

  it('should leave no browser process or profile behind', () => {
    assert.deepEqual(browsers.leftovers(), { pids: [], profiles: [] });
  });
});
