import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from '../../src/core/paths.ts';
import { pseudonym } from '../../src/tournament/pseudonym.ts';
import { stateSchema, type TournamentState } from '../../src/tournament/state.ts';
import { cli } from '../helpers/cli.ts';
import { isolatedRunDirs } from '../helpers/temp.ts';

/**
 * A real tournament (tournaments/smoke.ts: 2 submissions × 1 tiny scenario × 2 repetitions, ~2 min),
 * killed with SIGKILL during its second run, cleaned up with `edgechaos cleanup` in the test's own
 * state dir, resumed: every run exactly once, the completed ones kept, the half-finished one rerun;
 * published with --anonymise (pseudonyms from the organisers' key, no name in the published files).
 */
describe('tournament: kill -9 in the middle, cleanup, --resume', () => {
  const dirs = isolatedRunDirs(before, after);
  const env = (): NodeJS.ProcessEnv => ({
    EDGECHAOS_STATE_DIR: dirs.state,
    EDGECHAOS_REPORTS_DIR: dirs.reports,
  });
  const out = (): string => join(dirs.reports, 'smoke');
  const keyFile = (): string => join(dirs.reports, 'organisers.key');
  // Published anonymised: the names must appear nowhere in the leaderboard files.
  const args = (): string[] => ['--out', out(), '--anonymise', '--key-file', keyFile()];
  const readState = (): TournamentState =>
    stateSchema.parse(JSON.parse(readFileSync(join(out(), 'tournament-state.json'), 'utf8')));

  it('should lose no run and run none twice', { timeout: 8 * 60_000 }, async () => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'bin/edgechaos.mjs'), 'tournament', 'tournaments/smoke.ts', ...args()],
      { cwd: repoRoot, env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // Wait for the first completed run, then until the second is well under way (its load is running).
    const deadline = Date.now() + 4 * 60_000;
    for (;;) {
      assert.ok(Date.now() < deadline, `no run completed in time:\n${log}`);
      assert.equal(child.exitCode, null, `the tournament ended early:\n${log}`);
      if (existsSync(join(out(), 'tournament-state.json')) && readState().completed.length === 1) break;
      await sleep(500);
    }
    const second = join(out(), 'runs', readState().plan[1]!);
    while (!existsSync(join(second, 'load', 'samples.jsonl'))) {
      assert.ok(Date.now() < deadline, `the second run did not start its load:\n${log}`);
      await sleep(250);
    }
    const atKill = readState();
    child.kill('SIGKILL');
    await exited;
    assert.equal(atKill.completed.length, 1, 'killed during the second run');
    assert.ok(existsSync(second), 'the second run was half-finished on disk');
    assert.ok(!existsSync(join(second, 'run.json')), 'and had no record yet');

    // Without --resume a started tournament is refused (nothing is overwritten).
    const again = await cli(['tournament', 'tournaments/smoke.ts', ...args()], env());
    assert.equal(again.code, 2, again.err);
    assert.match(again.err, /continue it with --resume/);

    // cleanup in the test's own state dir reverts what the killed run left (its stack, proxies, faults).
    const clean = await cli(['cleanup', '--json'], env());
    assert.equal(clean.code, 0, clean.err);
    assert.ok((JSON.parse(clean.out) as { runs: unknown[] }).runs.length >= 1, clean.out);

    const resumed = await cli(['tournament', 'tournaments/smoke.ts', ...args(), '--resume'], env());
    assert.equal(resumed.code, 0, `${resumed.out}\n${resumed.err}`);
    assert.match(resumed.err, /discarding the half-finished run/);

    const end = readState();
    assert.deepEqual(
      end.completed.map((c) => c.key).sort(),
      [...end.plan].sort(),
      'every planned run completed exactly once',
    );
    assert.deepEqual(
      end.completed[0],
      atKill.completed[0],
      'the run completed before the kill was kept, not rerun',
    );
    assert.deepEqual(readdirSync(join(out(), 'runs')).sort(), [...end.plan].sort(), 'one directory per run');
    for (const c of end.completed) {
      const rec = JSON.parse(readFileSync(join(out(), c.dir, 'run.json'), 'utf8')) as { runId: string };
      assert.equal(rec.runId, c.runId, `${c.key}: its run.json is the run the state lists`);
    }
    const runIds = new Set(end.completed.map((c) => c.runId));
    assert.equal(runIds.size, 4);

    // The leaderboard: the reference first, the fixture behind it with its failed check.
    const lb = JSON.parse(readFileSync(join(out(), 'leaderboard.json'), 'utf8')) as {
      entries: { submission: string; rank: number; gatesPassed: boolean; failures: { what: string }[] }[];
    };
    const key = readFileSync(keyFile(), 'utf8').trim();
    assert.equal(statSync(keyFile()).mode & 0o777, 0o600);
    assert.deepEqual(
      lb.entries.map((e) => [e.submission, e.rank, e.gatesPassed]),
      [
        [pseudonym(key, 'reference'), 1, true],
        [pseudonym(key, 'refuse-offline'), 2, false],
      ],
    );
    // The whole published tree (the leaderboard and every run it links to): no submission name, no
    // stack name, no manifest folder, in any file or file name.
    const secrets = ['refuse-offline', 'reference', join(repoRoot, 'stack'), 'test/fixtures/stacks'];
    const published = readdirSync(out(), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    assert.ok(published.length > 20, `the runs are published too (${published.length} files)`);
    for (const e of published) {
      const f = join(e.parentPath, e.name);
      const text = `${f.slice(out().length)}\n${readFileSync(f, 'utf8')}`;
      for (const s of secrets) assert.ok(!text.includes(s), `${f} names ${s}`);
    }
    assert.ok(
      lb.entries[1]!.failures.some((f) => f.what === 'check offline'),
      JSON.stringify(lb.entries[1]),
    );
    assert.ok(existsSync(join(out(), 'index.html')) && existsSync(join(out(), 'junit.xml')));

    const leftovers = await cli(['cleanup', '--json'], env());
    assert.deepEqual((JSON.parse(leftovers.out) as { runs: unknown[] }).runs, [], 'nothing left behind');
  });
});
