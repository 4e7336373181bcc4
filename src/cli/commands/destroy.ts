import { dirname } from 'node:path';
import { sweep } from '../../core/cleanup/sweep.ts';
import { ExitCode, UsageError } from '../../core/errors.ts';
import { stateDir } from '../../core/paths.ts';
import { loadDeploymentState, removeDeploymentState } from '../../targets/local/index.ts';
import '../../targets/local/reverters.ts';
import { printJson } from '../output.ts';

/** Tear a deployment down by replaying its cleanup journal (processes, cgroups, namespaces, bridge). */
export async function destroyCommand(opts: { run?: string; json?: boolean }): Promise<number> {
  const { findSshState } = await import('../../targets/ssh/state.ts');
  const ssh = findSshState(opts.run);
  if (ssh) {
    // An ssh deployment: its journal reverts everything on every board (ssh-exec entries).
    const { sshDestroy } = await import('../../targets/ssh/cli.ts');
    const r = await sshDestroy(ssh);
    if (opts.json) printJson(r);
    else {
      console.log(
        `destroyed ${r.runId} in ${r.ms} ms: reverted ${r.reverted.length}${r.failed.length ? `, FAILED ${r.failed.length}` : ''}`,
      );
      for (const f of r.failed) console.log(`  FAILED ${f.what}: ${f.error}`);
    }
    return r.failed.length ? ExitCode.Environment : ExitCode.Pass;
  }
  let runId = opts.run;
  let dir = stateDir();
  try {
    const s = loadDeploymentState(opts.run);
    runId = s.runId;
    dir = dirname(s.journal);
  } catch (err) {
    // No description left (e.g. removed by hand): the journal alone is enough when the id is given.
    if (!opts.run) throw err;
  }
  const t0 = performance.now();
  const rep = await sweep({ runId: runId!, force: true, dir });
  const mine = rep.runs.find((r) => r.runId === runId);
  if (!mine && opts.run) {
    removeDeploymentState(runId!);
    throw new UsageError(`no deployment or journal "${runId}" (nothing to destroy)`);
  }
  const failed = mine?.failed ?? [];
  if (failed.length === 0) removeDeploymentState(runId!);
  const ms = Math.round(performance.now() - t0);
  if (opts.json) printJson({ runId, ms, reverted: mine?.reverted ?? [], failed });
  else {
    console.log(
      `destroyed ${runId} in ${ms} ms: reverted ${mine?.reverted.length ?? 0}${failed.length ? `, FAILED ${failed.length}` : ''}`,
    );
    for (const f of failed) console.log(`  FAILED ${f.what}: ${f.error}`);
  }
  return failed.length ? ExitCode.Environment : ExitCode.Pass;
}
