import type { Provenance } from './record-view.ts';

/** One provenance fact: a stable key (JUnit property / Allure parameter name), a label for people, a value. */
export interface ProvenanceEntry {
  key: string;
  label: string;
  value: string;
}

/**
 * Pure: the provenance of a run as ordered entries, the same in the HTML, JUnit properties and Allure
 * parameters. Absent fields are left out; one entry per stack image.
 */
export function provenanceEntries(p: Provenance): ProvenanceEntry[] {
  const out: ProvenanceEntry[] = [];
  const add = (key: string, label: string, value: string | number | undefined): void => {
    if (value === undefined || value === '') return;
    out.push({ key, label, value: String(value) });
  };
  add('label', 'Competitor', p.label);
  add('harnessVersion', 'edgechaos version', p.harnessVersion);
  add('gitCommit', 'edgechaos commit', p.gitCommit);
  if (p.rubric) {
    const name = [p.rubric.name, p.rubric.version ? `v${p.rubric.version}` : undefined].filter(Boolean);
    add('rubric', 'Rubric', name.join(' ') || undefined);
    add('rubric.sha256', 'Rubric SHA-256', p.rubric.sha256);
  }
  add('scenario.sha256', 'Scenario SHA-256', p.scenarioSha256);
  if (p.stack) {
    const name = [p.stack.name, p.stack.version].filter(Boolean);
    add('stack', 'Stack', name.join(' ') || undefined);
    add('stack.manifest.sha256', 'Stack manifest SHA-256', p.stack.manifestSha256);
    for (const img of p.stack.images ?? []) add(`stack.image.${img.file}`, `Image ${img.file}`, img.digest);
  }
  add('target', 'Target', p.target);
  if (p.host) {
    add('host.kernel', 'Host kernel', p.host.kernel);
    add('host.cpu', 'Host CPU', p.host.cpuModel);
    add('host.cores', 'Host cores', p.host.cores);
  }
  add('node', 'Node.js', p.node);
  add('go', 'Go', p.go);
  add('seed', 'Seed', p.seed);
  return out;
}
