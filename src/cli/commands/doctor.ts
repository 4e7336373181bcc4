import { ExitCode } from '../../core/errors.ts';
import { doctor } from '../../tools/doctor.ts';
import { printJson, table } from '../output.ts';

export async function doctorCommand(opts: { json?: boolean }): Promise<number> {
  const rep = await doctor();
  if (opts.json) printJson(rep);
  else {
    console.log(
      table(
        rep.tools.map((t) => [
          t.ok ? 'ok' : 'MISSING',
          t.name,
          t.version ?? '-',
          t.pinned ?? '',
          t.path ?? '-',
          t.note ?? '',
        ]),
        ['status', 'tool', 'version', 'pinned', 'path', 'note'],
      ),
    );
    console.log('');
    console.log(
      table(
        rep.capabilities.map((c) => [
          c.ok ? 'ok' : c.name === 'netem' || c.optional ? 'absent' : 'FAIL',
          c.name,
          c.detail,
          c.neededBy,
        ]),
        ['status', 'capability', 'detail', 'needed by'],
      ),
    );
    console.log(
      rep.ok
        ? '\nall required tools and capabilities present'
        : '\nsomething required is missing: run `edgechaos bootstrap` as root',
    );
  }
  return rep.ok ? ExitCode.Pass : ExitCode.Environment;
}
