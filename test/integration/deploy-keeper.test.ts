import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isAlive, processStartTime } from '../../src/core/proc.ts';
import { readJournal } from '../../src/core/cleanup/journal.ts';
import { cli, deployed, ownDirsEnv } from '../helpers/cli.ts';

describe('cleanup and a detached deployment', () => {
  it('should spare a healthy deployment whose toxiproxy died: liveness is its keeper', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgechaos-test-keeper-'));
    const env = ownDirsEnv(dir);
    let runId: string | undefined;
    try {
      const info = await deployed(['--nodes', '1'], env);
      runId = info.runId;
      const state = JSON.parse(readFileSync(info.stateFile, 'utf8')) as {
        toxiproxyPid: number;
        journal: string;
      };
      const owner = readJournal(state.journal).owner!;
      assert.notEqual(owner.pid, state.toxiproxyPid, 'the journal is owned by a keeper, not by toxiproxy');
      assert.equal(isAlive(owner), true);

      // toxiproxy dies; the deployment's edge is still healthy (clients reach it directly)
      const toxi = { pid: state.toxiproxyPid, startTime: processStartTime(state.toxiproxyPid)! };
      process.kill(toxi.pid, 'SIGKILL');
      for (let i = 0; i < 100 && isAlive(toxi); i++) await new Promise((r) => setTimeout(r, 20));
      const c = await cli(['cleanup', '--json'], env);
      assert.equal(c.code, 0, c.err);
      const runs = (JSON.parse(c.out) as { runs: { runId: string; skipped?: string }[] }).runs;
      assert.match(runs.find((r) => r.runId === runId)?.skipped ?? '', /still running/);
      assert.equal((await fetch(`${info.nodes[0]!.url}/healthz`)).status, 200, 'the edge was killed');
      assert.equal(existsSync(info.stateFile), true);

      const x = await cli(['destroy', '--run', runId, '--json'], env);
      assert.equal(x.code, 0, x.err);
      assert.equal(existsSync(info.stateFile), false);
      // the keeper ends with its state file (it polls once a second)
      for (let i = 0; i < 150 && isAlive(owner); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(isAlive(owner), false, 'keeper left running');
      runId = undefined;
    } finally {
      if (runId) await cli(['destroy', '--run', runId], env);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
