import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { RunRecord } from '../../src/campaign/record.ts';
import { loadRunRecord } from '../../src/record/load.ts';
import { launchChromium, writeReports } from '../../src/report/index.ts';
import type { Leaderboard } from '../../src/report/leaderboard.ts';
import { planTournament } from '../../src/tournament/define.ts';
import { publish } from '../../src/tournament/run.ts';
import { newState, withCompleted } from '../../src/tournament/state.ts';
import { cli } from '../helpers/cli.ts';
import { watchBrowsers } from './report-helpers.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'runs');

/**
 * The published leaderboard in a real browser (playwright-core + Debian Chromium): ranks, ties and
 * intervals as a person reads them, against leaderboard.json; every run's report one click away.
 */
describe('tournament leaderboard in a real browser', () => {
  let out = '';
  let board: Leaderboard;
  const browsers = watchBrowsers();

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'edgechaos-test-leaderboard-'));
    const passing = loadRunRecord(join(fixtures, 'passing'));
    const failing = loadRunRecord(join(fixtures, 'failing'));
    // alpha and beta overlap (tied), gamma fails a gate; scores vary over the repetitions.
    const scores: Record<string, [RunRecord, number[]]> = {
      alpha: [passing, [90, 92, 91]],
      beta: [passing, [89, 90.5, 91.5]],
      gamma: [failing, [80, 70, 75]],
    };
    const t = {
      submissions: Object.keys(scores).map((name) => ({ name, stack: '' })),
      repetitions: 3,
      order: 'interleaved' as const,
    };
    const plan = planTournament(t, [{ name: 'standard', seed: 1 }]);
    let state = newState('browser', plan);
    for (const p of plan) {
      const [base, pcts] = scores[p.submission]!;
      const record = structuredClone(base);
      record.score.percent = pcts[p.repetition - 1]!;
      record.runId = `ec-${p.key}`;
      const dir = join(out, 'runs', p.key);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'run.json'), JSON.stringify(record));
      await writeReports(dir, record, { pdf: false, allure: false });
      state = withCompleted(state, {
        key: p.key,
        runId: record.runId,
        dir: join('runs', p.key),
        percent: record.score.percent,
        gatesPassed: record.gatesPassed,
        wallMs: 1,
        finishedAt: 'now',
      });
    }
    board = publish('browser', out, plan, state).board;
  });

  after(() => {
    rmSync(out, { recursive: true, force: true });
    browsers.dispose();
  });

  it('should show the ranks, ties and intervals of leaderboard.json, gate failures first', async () => {
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) external.push(r.url());
    });
    await page.goto(pathToFileURL(join(out, 'index.html')).href);
    const rows = await page.$$eval('#leaderboard tbody tr', (trs) =>
      trs.map((tr) => ({
        submission: tr.children[1]?.textContent?.trim(),
        rank: tr.querySelector('td.rank')?.childNodes[0]?.textContent?.trim(),
        tie: tr.querySelector('.tie')?.textContent?.trim(),
        gates: tr.children[2]?.textContent?.trim(),
        median: tr.querySelector('td.score .median')?.textContent,
        ci: tr.querySelector('td.score .ci')?.textContent,
        range: tr.querySelector('td.score .range')?.textContent,
        runs: tr.querySelectorAll('a.run').length,
      })),
    );
    assert.deepEqual(rows, [
      {
        submission: 'alpha',
        rank: '1',
        tie: '',
        gates: 'pass',
        median: '91.0',
        ci: '[90.0, 92.0]',
        range: '90.0–92.0',
        runs: 3,
      },
      {
        submission: 'beta',
        rank: '=1',
        tie: 'tied with alpha',
        gates: 'pass',
        median: '90.5',
        ci: '[89.0, 91.5]',
        range: '89.0–91.5',
        runs: 3,
      },
      {
        submission: 'gamma',
        rank: '3',
        tie: '',
        gates: 'FAIL',
        median: '75.0',
        ci: '[70.0, 80.0]',
        range: '70.0–80.0',
        runs: 3,
      },
    ]);
    // the same numbers as the JSON
    for (const [i, e] of board.entries.entries()) {
      assert.equal(rows[i]!.median, e.score.median.toFixed(1));
      assert.equal(rows[i]!.ci, `[${e.score.lo.toFixed(1)}, ${e.score.hi.toFixed(1)}]`);
    }
    // gate failures come before the ranking, naming the submission and what failed
    const order = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent));
    assert.deepEqual(order.slice(0, 2), ['Gate failures', 'Ranking']);
    const failures = await page.$$eval('#gate-failures tr[data-submission]', (trs) =>
      trs.map((tr) => [tr.getAttribute('data-submission') ?? '', tr.textContent ?? '']),
    );
    assert.equal(failures.length, 1);
    assert.equal(failures[0]![0], 'gamma');
    assert.match(String(failures[0]![1]), /gate /);
    // each run's report is one click away
    await page.click('#leaderboard tr[data-submission="gamma"] a.run >> nth=1');
    await page.waitForSelector('#verdict');
    assert.match(page.url(), /runs\/gamma--standard--r2\/index\.html$/);
    assert.equal(await page.textContent('#verdict'), 'FAIL');
    assert.deepEqual(external, [], 'nothing fetched from the network');
  });

  it('report compare: the same page, with its two charts drawn from the runs', async () => {
    // Two real run directories (the fixture records), compared by the CLI as a user would.
    const dirs = ['passing', 'failing'].map((name) => {
      const d = join(out, 'compare', name);
      mkdirSync(d, { recursive: true });
      copyFileSync(join(fixtures, name, 'run.json'), join(d, 'run.json'));
      return d;
    });
    const file = join(out, 'compare', 'compare.html');
    const r = await cli(['report', 'compare', ...dirs, '--out', file], {});
    assert.equal(r.code, 0, r.err);
    const records = dirs.map((d) => loadRunRecord(d));
    await using browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const external: string[] = [];
    page.on('request', (q) => {
      if (!q.url().startsWith('file:')) external.push(q.url());
    });
    await page.goto(pathToFileURL(file).href);
    // the leaderboard page: one submission per run
    const ranked = await page.$$eval('#leaderboard tbody tr', (trs) =>
      trs.map((tr) => tr.getAttribute('data-submission')),
    );
    assert.deepEqual(ranked, ['passing', 'failing']);
    // its two charts, each drawn on a canvas with the runs' colours
    const ids = await page.$$eval('.chart', (els) => els.map((el) => el.id));
    assert.deepEqual(ids, ['chart-criteria', 'chart-score'], 'the compare page has its two charts');
    await page.waitForSelector('body[data-charts]', { timeout: 15_000 });
    assert.equal(await page.getAttribute('body', 'data-charts'), '2');
    const inked = await page.$$eval('.chart canvas', (cs) =>
      cs.map((c) => {
        const px = (c as HTMLCanvasElement)
          .getContext('2d')!
          .getImageData(0, 0, (c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height).data;
        let coloured = 0;
        for (let i = 0; i < px.length; i += 4)
          if (
            px[i + 3]! > 200 &&
            Math.max(px[i]!, px[i + 1]!, px[i + 2]!) - Math.min(px[i]!, px[i + 1]!, px[i + 2]!) > 80
          )
            coloured++;
        return coloured;
      }),
    );
    assert.equal(inked.length, 2);
    assert.ok(
      inked[0]! > 50,
      `points per criterion: ${inked[0]} coloured pixels (a dot per run and criterion)`,
    );
    // the numbers drawn are the runs': each run's points per criterion, and each run's score
    const data = JSON.parse(
      readFileSync(file, 'utf8').match(
        /<script type="application\/json" id="chart-data">(.*?)<\/script>/s,
      )![1]!,
    ) as {
      charts: { id: string; xNames: string[]; lines: { label: string; values: (number | null)[] }[] }[];
    };
    const [criteria, score] = data.charts;
    assert.deepEqual(
      criteria!.lines.map((l) => l.label),
      ['passing', 'failing'],
    );
    for (const [i, rec] of records.entries())
      assert.deepEqual(
        criteria!.lines[i]!.values,
        criteria!.xNames.map((id) => rec.score.criteria.find((c) => c.id === id)?.points ?? null),
      );
    assert.deepEqual(
      score!.lines[0]!.values,
      records.map((rec) => rec.score.percent),
    );
    // the legend of the criteria chart names the runs as the page does
    const legend = await page.$$eval('#chart-criteria .u-legend .u-label', (ls) =>
      ls.map((l) => l.textContent),
    );
    assert.deepEqual(legend.filter(Boolean), ['passing', 'failing']);
    assert.deepEqual(external, [], 'nothing fetched from the network');
  });

  it('should leave no browser process or profile behind', () => {
    assert.deepEqual(browsers.leftovers(), { pids: [], profiles: [] });
  });
});
