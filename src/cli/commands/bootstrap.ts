import { bootstrap } from '../../tools/bootstrap.ts';
import { formatDuration } from '../../core/duration.ts';
import { printJson } from '../output.ts';

export async function bootstrapCommand(opts: {
  json?: boolean;
  apt?: boolean;
  stack?: boolean;
  kube?: boolean;
  kind?: boolean;
}): Promise<number> {
  const t0 = Date.now();
  const results = await bootstrap({
    skipApt: opts.apt === false,
    stack: opts.stack !== false,
    kube: opts.kube === true || opts.kind === true,
    kind: opts.kind === true,
    onStep: (r) => {
      if (!opts.json)
        console.error(
          `bootstrap: ${r.step.padEnd(18)} ${r.status.padEnd(9)} ${formatDuration(r.ms).padStart(7)}  ${r.detail}`,
        );
    },
  });
  if (opts.json) printJson({ steps: results, ms: Date.now() - t0 });
  else console.error(`bootstrap: done in ${formatDuration(Date.now() - t0)}`);
  return 0;
}
