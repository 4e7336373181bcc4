import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadRunRecord } from '../../src/record/load.ts';
import {
  bootstrapInterval,
  median,
  overlaps,
  rankEntries,
  type Interval,
} from '../../src/report/leaderboard-stats.ts';
import { buildLeaderboard, renderLeaderboardJUnit } from '../../src/report/leaderboard.ts';
import { planTournament } from '../../src/tournament/define.ts';
import { loadOrCreateKey, pseudonym } from '../../src/tournament/pseudonym.ts';
import {
  eta,
  newState,
  readState,
  resumePlan,
  withCompleted,
  writeAtomic,
  type CompletedRun,
} from '../../src/tournament/state.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'runs');

describe('tournament: bootstrap interval of the median', () => {
  it('should give the median, min–max and a 95 % interval inside min–max', () => {
    const xs = [90, 91, 92, 93, 94, 95, 96, 97, 98, 99];
    const i = bootstrapInterval(xs, 1);
    assert.equal(i.median, 94.5);
    assert.equal(i.min, 90);
    assert.equal(i.max, 99);
    assert.ok(i.lo >= 90 && i.lo < 94.5, `lo ${i.lo}`);
    assert.ok(i.hi <= 99 && i.hi > 94.5, `hi ${i.hi}`);
  });

  it('should be deterministic for a seed (the published page is reproducible)', () => {
    const xs = [12, 50, 51, 53, 70, 71, 90];
    assert.deepEqual(bootstrapInterval(xs, 42), bootstrapInterval(xs, 42));
    // few resamples: the seed decides which order statistics land on the 2.5/97.5 % quantiles
    const few = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => bootstrapInterval(xs, s, 20));
    assert.ok(few.some((o) => o.lo !== few[0]!.lo || o.hi !== few[0]!.hi));
  });

  it('should collapse to the value with one repetition or identical ones', () => {
    assert.deepEqual(bootstrapInterval([80], 3), { n: 1, median: 80, min: 80, max: 80, lo: 80, hi: 80 });
    const same = bootstrapInterval([70, 70, 70], 3);
    assert.equal(same.lo, 70);
    assert.equal(same.hi, 70);
  });

  it('should narrow as repetitions agree more', () => {
    const wide = bootstrapInterval([60, 70, 80, 90, 100], 9);
    const narrow = bootstrapInterval([79, 80, 80, 80, 81], 9);
    assert.ok(narrow.hi - narrow.lo < wide.hi - wide.lo);
  });

  it('median of an even count is the mean of the middle two', () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});

describe('tournament: ranks and ties', () => {
  const iv = (median: number, lo: number, hi: number): Interval => ({
    n: 3,
    median,
    min: lo,
    max: hi,
    lo,
    hi,
  });
  const rank = (xs: { name: string; gatesPassed: boolean; interval: Interval }[]) =>
    rankEntries(xs, (x) => x).map((r) => [r.item.name, r.rank, r.tiedWithAbove]);

  it('should say neighbours are tied when their intervals overlap, and share the rank', () => {
    assert.deepEqual(
      rank([
        { name: 'c', gatesPassed: true, interval: iv(70, 68, 72) },
        { name: 'a', gatesPassed: true, interval: iv(90, 88, 92) },
        { name: 'b', gatesPassed: true, interval: iv(89, 87, 91) },
      ]),
      [
        ['a', 1, false],
        ['b', 1, true],
        ['c', 3, false],
      ],
    );
  });

  it('should rank every gate failure after every pass, whatever its score', () => {
    assert.deepEqual(
      rank([
        { name: 'high-but-failed', gatesPassed: false, interval: iv(99, 98, 100) },
        { name: 'low-but-passed', gatesPassed: true, interval: iv(60, 59, 61) },
      ]),
      [
        ['low-but-passed', 1, false],
        ['high-but-failed', 2, false],
      ],
    );
  });

  it('should not tie across the gate groups even when intervals overlap', () => {
    const r = rank([
      { name: 'p', gatesPassed: true, interval: iv(80, 70, 90) },
      { name: 'f', gatesPassed: false, interval: iv(80, 70, 90) },
    ]);
    assert.deepEqual(r[1], ['f', 2, false]);
  });

  it('overlap is inclusive at the ends', () => {
    assert.equal(overlaps({ lo: 1, hi: 2 }, { lo: 2, hi: 3 }), true);
    assert.equal(overlaps({ lo: 1, hi: 2 }, { lo: 2.01, hi: 3 }), false);
  });
});

describe('tournament: plan and resume bookkeeping', () => {
  const t = {
    submissions: [
      { name: 'a', stack: '' },
      { name: 'b', stack: '' },
      { name: 'c', stack: '' },
    ],
    repetitions: 2,
    seeds: [5, 6],
    order: 'interleaved' as const,
  };
  const scenarios = [{ name: 's', seed: 1 }];

  it('should interleave A B C A B C with the same seed for everyone in a repetition', () => {
    const plan = planTournament(t, scenarios);
    assert.deepEqual(
      plan.map((p) => `${p.submission}${p.repetition}:${p.seed}`),
      ['a1:5', 'b1:5', 'c1:5', 'a2:6', 'b2:6', 'c2:6'],
    );
    const seq = planTournament({ ...t, order: 'sequential' }, scenarios);
    assert.deepEqual(
      seq.map((p) => `${p.submission}${p.repetition}`),
      ['a1', 'a2', 'b1', 'b2', 'c1', 'c2'],
    );
  });

  it("should default each repetition's seed to the scenario's seed + repetition − 1", () => {
    const { seeds: _, ...noSeeds } = t;
    assert.deepEqual(
      planTournament(noSeeds, [{ name: 's', seed: 100 }]).map((p) => p.seed),
      [100, 100, 100, 101, 101, 101],
    );
  });

  const done = (key: string): CompletedRun => ({
    key,
    runId: `id-${key}`,
    dir: `runs/${key}`,
    percent: 90,
    gatesPassed: true,
    wallMs: 1000,
    finishedAt: 'x',
  });

  it('should continue after the completed runs, in plan order, none twice', () => {
    const plan = planTournament(t, scenarios);
    let state = newState('x', plan);
    state = withCompleted(state, done(plan[0]!.key));
    state = withCompleted(state, done(plan[2]!.key));
    const r = resumePlan(state, plan, 'state.json');
    assert.deepEqual(
      r.done.map((p) => p.key),
      [plan[0]!.key, plan[2]!.key],
    );
    assert.deepEqual(
      r.todo.map((p) => p.key),
      [plan[1]!.key, plan[3]!.key, plan[4]!.key, plan[5]!.key],
    );
    assert.throws(() => withCompleted(state, done(plan[0]!.key)), /completed twice/);
  });

  it('should refuse a state whose plan differs, or that lists a run twice or one not planned', () => {
    const plan = planTournament(t, scenarios);
    const state = newState('x', plan);
    assert.throws(() => resumePlan(state, plan.slice(1), 'f'), /planned runs differ/);
    const twice = { ...state, completed: [done(plan[0]!.key), done(plan[0]!.key)] };
    assert.throws(() => resumePlan(twice, plan, 'f'), /listed twice/);
    const alien = { ...state, completed: [done('zzz')] };
    assert.throws(() => resumePlan(alien, plan, 'f'), /not in the plan/);
  });

  it('should write the state atomically and read it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-tstate-'));
    try {
      const plan = planTournament(t, scenarios);
      const file = join(dir, 'state.json');
      const s = withCompleted(newState('x', plan), done(plan[0]!.key));
      writeAtomic(file, JSON.stringify(s));
      assert.deepEqual(readState(file), s);
      writeFileSync(file, '{"schema":"edgechaos.tournament-state/v1"');
      assert.throws(() => readState(file), /not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('should estimate the time left from the mean run', () => {
    assert.equal(eta([], 3), undefined);
    assert.equal(eta([{ wallMs: 10 }, { wallMs: 30 }], 3), 60);
  });
});

describe('tournament: pseudonyms', () => {
  it('should be stable for a key, differ across keys and names, and not contain the name', () => {
    const k1 = 'a'.repeat(64);
    const k2 = 'b'.repeat(64);
    assert.equal(pseudonym(k1, 'team-red'), pseudonym(k1, 'team-red'));
    assert.notEqual(pseudonym(k1, 'team-red'), pseudonym(k2, 'team-red'));
    assert.notEqual(pseudonym(k1, 'team-red'), pseudonym(k1, 'team-blue'));
    assert.match(pseudonym(k1, 'team-red'), /^sub-[0-9a-f]{10}$/);
  });

  it('should create the key file 0600, reuse it, and refuse it inside the published dir or readable by others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-tkey-'));
    try {
      const pub = join(dir, 'published');
      const file = join(dir, 'published.pseudonym-key');
      const key = loadOrCreateKey(file, pub);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(loadOrCreateKey(file, pub), key);
      assert.equal(readFileSync(file, 'utf8').trim(), key);
      assert.throws(() => loadOrCreateKey(join(pub, 'k'), pub), /must not be inside the published directory/);
      const loose = join(dir, 'loose-key');
      writeFileSync(loose, `${'c'.repeat(64)}\n`, { mode: 0o644 });
      assert.throws(() => loadOrCreateKey(loose, pub), /readable by others/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tournament: leaderboard from run records', () => {
  const passing = loadRunRecord(join(fixtures, 'passing'));
  const failing = loadRunRecord(join(fixtures, 'failing'));
  const run = (submission: string, repetition: number, record: typeof passing) => ({
    submission,
    scenario: 'standard',
    repetition,
    seed: repetition,
    dir: join(fixtures, submission),
    record,
  });

  it('should rank the passing submission first, list the failing one with its failed gates and checks', () => {
    const lb = buildLeaderboard(
      't',
      [run('bad', 1, failing), run('good', 1, passing), run('bad', 2, failing), run('good', 2, passing)],
      'now',
    );
    assert.deepEqual(
      lb.entries.map((e) => [e.submission, e.rank, e.gatesPassed]),
      [
        ['good', 1, true],
        ['bad', 2, false],
      ],
    );
    const bad = lb.entries[1]!;
    assert.equal(bad.score.median, failing.score.percent);
    assert.ok(bad.failures.some((f) => f.what.startsWith('gate ') && f.runs === 2));
    for (const c of failing.checks.filter((c) => c.status === 'failed'))
      assert.ok(
        bad.failures.some((f) => f.what === `check ${c.id}`),
        c.id,
      );
    // per criterion and per area, for every criterion the runs measured
    for (const c of passing.score.criteria.filter((c) => c.points !== undefined))
      assert.equal(lb.entries[0]!.criteria[c.id]!.median, c.points);
    assert.ok(Object.keys(lb.entries[0]!.areas).length >= 2);
    const junit = renderLeaderboardJUnit(lb);
    assert.match(junit, /tests="2" failures="1"/);
    assert.match(junit, /<testcase classname="edgechaos\.tournament\.t" name="bad"[^]*?<failure /);
  });
});
