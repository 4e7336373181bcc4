import { ExitCode } from '../../core/errors.ts';
import { findDeployment } from '../../targets/registry.ts';
import { printJson } from '../output.ts';

/** Tear a deployment down by replaying its cleanup journal, on whichever target holds it. */
export async function destroyCommand(opts: { run?: string; json?: boolean }): Promise<number> {
  const { target, runId } = await findDeployment(opts.run);
  const r = await target.detached!.destroy(runId);
  if (opts.json) printJson(r);
  else {
    console.log(
      `destroyed ${r.runId} in ${r.ms} ms: reverted ${r.reverted.length}${r.failed.length ? `, FAILED ${r.failed.length}` : ''}`,
    );
    for (const f of r.failed) console.log(`  FAILED ${f.what}: ${f.error}`);
  }
  return r.failed.length ? ExitCode.Environment : ExitCode.Pass;
}
