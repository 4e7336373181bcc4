import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { launchChromium, readRunDir, writeReports } from '../../src/report/index.ts';
import { watchBrowsers } from './report-helpers.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'runs');

describe('report in a real browser (playwright-core + Debian Chromium)', () => {
  let dir = '';
  const browsers = watchBrowsers();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgechaos-report-browser-'));
  });

  after(() => {
    browsers.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['passing', 'failing'])
    it(`should show the ${name} run's real numbers and draw every chart`, async () => {
      const runDir = join(dir, name);
      mkdirSync(runDir);
      copyFileSync(join(fixtures, name, 'run.json'), join(runDir, 'run.json'));
      const rec = readRunDir(runDir);
      const written = await writeReports(runDir, rec, { pdf: false, allure: false });
      // JUnit links the raw evidence too (relative paths in the run directory), not only the HTML;
      // not the files the report run writes itself.
      assert.match(
        readFileSync(written.junit, 'utf8'),
        /<property name="evidence: Run record" value="run.json"\/>/,
      );
      assert.doesNotMatch(
        readFileSync(written.junit, 'utf8'),
        /value="(index\.html|junit\.xml|allure-results)"/,
      );

      await using browser = await launchChromium();
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) external.push(r.url());
      });
      await page.goto(pathToFileURL(written.html).href);
      await page.waitForSelector('body[data-charts]');

      // The score table, as a person reads it, against the record.
      const rows = await page.$$eval('#score-table tbody tr[data-criterion]', (trs) =>
        trs.map((tr) => ({
          id: tr.getAttribute('data-criterion'),
          points: tr.querySelector('td.points')?.textContent?.trim(),
          weight: tr.querySelector('td.weight')?.textContent?.trim(),
          measured: Array.from(tr.querySelectorAll('.measured')).map((m) => m.getAttribute('data-value')),
        })),
      );
      assert.deepEqual(
        rows,
        rec.score.criteria.map((c) => ({
          id: c.id,
          points: c.points === undefined ? 'not measured' : c.points.toFixed(1),
          weight: String(c.weight),
          measured: c.terms.map((t) => (t.measured ? String(t.measured.value) : '')),
        })),
      );
      assert.equal(
        await page.textContent('#score-total'),
        `${rec.score.total.toFixed(1)} / ${rec.score.possible}`,
      );
      assert.equal(await page.textContent('#verdict'), rec.gatesPassed ? 'PASS' : 'FAIL');
      const verdicts = await page.$$eval('#verdicts tr[data-check]', (trs) =>
        trs.map((tr) => [tr.getAttribute('data-check'), tr.querySelector('.badge')?.textContent]),
      );
      assert.deepEqual(
        verdicts,
        rec.checks.map((c) => [c.id, c.status]),
      );

      // Every chart drew: its canvas has many non-background pixels, some in the edge colours.
      const charts = await page.$$eval('.chart', (els) =>
        els.map((el) => {
          const c = el.querySelector('canvas');
          if (!c) return { id: el.id, inked: 0, coloured: 0 };
          const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let inked = 0;
          let coloured = 0;
          for (let i = 0; i < px.length; i += 4) {
            const [r, g, b, a] = [px[i]!, px[i + 1]!, px[i + 2]!, px[i + 3]!];
            if (a > 0) inked++;
            if (a > 200 && Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
          }
          return { id: el.id, inked, coloured };
        }),
      );
      assert.equal(charts.length, 7);
      assert.equal(await page.getAttribute('body', 'data-charts'), '7');
      for (const c of charts) {
        assert.ok(c.inked > 2000, `${c.id} drew ${c.inked} pixels`);
        assert.ok(c.coloured > 100, `${c.id} has ${c.coloured} coloured pixels`);
      }
      assert.deepEqual(external, [], 'the report fetched nothing from the network');

      // Chart legends: static, no empty "TIME: – EDGE-1: –" values; only where some line is not a node
      // (the node colours have one legend above the charts), and never for a single line.
      const legends = await page.$$eval('.u-legend', (els) =>
        els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => e.textContent ?? ''),
      );
      assert.deepEqual(legends, ['requestserrors']);
      assert.equal(await page.locator('#legend-nodes i').count(), rec.nodes.length);

      const shot = join(runDir, 'screenshot.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 50_000);
    });

  it('should leave no browser process or profile behind', () => {
    assert.deepEqual(browsers.leftovers(), { pids: [], profiles: [] });
  });
});
