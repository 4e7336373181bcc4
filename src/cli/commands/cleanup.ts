import { sweep } from '../../core/cleanup/sweep.ts';
import { registerKubeReverters } from '../../targets/kube/reverters.ts';
import { registerLocalReverters } from '../../targets/local/index.ts';
import { registerSshReverters } from '../../targets/ssh/reverters.ts';
import { ExitCode } from '../../core/errors.ts';
import { printJson } from '../output.ts';
import { usePrivateDockerIfRunning } from '../../tools/kind-env.ts';

export async function cleanupCommand(opts: {
  json?: boolean;
  force?: boolean;
  run?: string;
}): Promise<number> {
  // Every target's own cleanup kinds must be known before a journal is replayed.
  registerLocalReverters();
  registerKubeReverters();
  registerSshReverters();
  usePrivateDockerIfRunning(); // kind/docker undos reach edgechaos's private dockerd
  const rep = await sweep({ force: opts.force ?? false, ...(opts.run ? { runId: opts.run } : {}) });
  const failed = rep.runs.some((r) => r.failed.length > 0);
  if (opts.json) printJson(rep);
  else {
    if (rep.runs.length === 0) console.log('nothing to clean up: no run left anything applied');
    for (const r of rep.runs) {
      if (r.skipped) console.log(`${r.runId}: skipped — ${r.skipped}`);
      else
        console.log(
          `${r.runId}: reverted ${r.reverted.length}${r.failed.length ? `, FAILED ${r.failed.length}` : ''}`,
        );
      for (const w of r.reverted) console.log(`  reverted  ${w}`);
      for (const f of r.failed) console.log(`  FAILED    ${f.what}: ${f.error}`);
    }
  }
  return failed ? ExitCode.Environment : ExitCode.Pass;
}
