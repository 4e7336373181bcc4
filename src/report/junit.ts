import type { RunRecord } from '../campaign/record.ts';
import { evidenceItem, formatEmulated, formatMetric } from './format.ts';
import {
  checkStatus,
  criterionReason,
  criterionStatus,
  gateStatus,
  isInterrupted,
  provenanceOf,
} from './record-view.ts';
import type { EvidenceFile } from './html-report.ts';
import { provenanceEntries } from './provenance.ts';

/** XML text/attribute escaping; drops characters XML 1.0 cannot carry. */
export function xml(s: unknown): string {
  return (
    String(s)
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
  );
}

interface Case {
  classname: string;
  name: string;
  time: number;
  outcome:
    | { kind: 'passed' }
    | { kind: 'failure' | 'error' | 'skipped'; message: string; type: string; body?: string };
  out?: string;
}

function caseXml(c: Case): string {
  const o = c.outcome;
  let inner = '';
  if (o.kind === 'skipped') inner = `\n      <skipped message="${xml(o.message)}"/>`;
  else if (o.kind !== 'passed')
    inner = `\n      <${o.kind} message="${xml(o.message)}" type="${xml(o.type)}">${xml(o.body ?? o.message)}</${o.kind}>`;
  if (c.out) inner += `\n      <system-out>${xml(c.out)}</system-out>`;
  return `    <testcase classname="${xml(c.classname)}" name="${xml(c.name)}" time="${c.time.toFixed(3)}">${inner}${inner ? '\n    ' : ''}</testcase>`;
}

function suiteXml(name: string, cases: Case[], timestamp: string, props?: Record<string, string>): string {
  const count = (k: string): number => cases.filter((c) => c.outcome.kind === k).length;
  const time = cases.reduce((a, c) => a + c.time, 0);
  const properties = props
    ? `\n    <properties>\n${Object.entries(props)
        .map(([k, v]) => `      <property name="${xml(k)}" value="${xml(v)}"/>`)
        .join('\n')}\n    </properties>`
    : '';
  return `  <testsuite name="${xml(name)}" tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}" skipped="${count('skipped')}" time="${time.toFixed(3)}" timestamp="${xml(timestamp)}">${properties}
${cases.map(caseXml).join('\n')}
  </testsuite>`;
}

/** A compact excerpt of a check's evidence for the failure body (the full evidence is in run.json). */
function evidenceExcerpt(evidence: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(evidence)) {
    if (Array.isArray(v) && v.length === 0) continue;
    const list: unknown[] | undefined = Array.isArray(v) ? (v as unknown[]) : undefined;
    if (typeof v === 'string' && v.includes('\n')) lines.push(`${k}:\n${v}`);
    else if (list)
      lines.push(
        `${k} (${list.length}): ${list
          .slice(0, 50)
          .map(evidenceItem)
          .join(', ')}${list.length > 50 ? ', …' : ''}`,
      );
    else {
      const t = JSON.stringify(v);
      lines.push(`${k}: ${t.length > 400 ? `${t.slice(0, 400)}…` : t}`);
    }
  }
  return lines.join('\n');
}

/**
 * Pure: JUnit XML of a run, valid against the common JUnit schema (Jenkins xUnit's junit-10.xsd:
 * `skipped` counts only on `<testsuite>`). Suite "checks": one case per check (failed → failure with its
 * summary and evidence, not-measured → skipped, not-provided → failure). Suite "rubric": one case per
 * criterion (not measured → skipped, not provided → failure) and one per gate (failed → failure naming
 * the gate, not measured → skipped). A campaign error is an `<error>`; provenance goes into properties,
 * and so do links to the raw evidence in the run directory (`evidence: <label>` = relative path).
 */
/** One case per check, after a campaign error or interruption if there was one. */
function checkCases(r: RunRecord, cls: string): Case[] {
  const checks: Case[] = r.checks.map((c) => {
    const status = checkStatus(c);
    return {
      classname: `${cls}.checks`,
      name: `${c.id}: ${c.title}`,
      time: (c.durationMs ?? 0) / 1000,
      outcome:
        status === 'passed'
          ? { kind: 'passed' }
          : status === 'not-measured'
            ? { kind: 'skipped', message: `not measured: ${c.summary}`, type: 'not-measured' }
            : status === 'not-provided'
              ? {
                  kind: 'failure',
                  message: `not provided (scores zero): ${c.summary}`,
                  type: 'not-provided',
                }
              : {
                  kind: 'failure',
                  message: c.summary,
                  type: 'check-failed',
                  body: `${c.summary}\n\n${evidenceExcerpt(c.evidence)}`,
                },
      out: [
        ...Object.entries(c.metrics).map(([k, m]) => `${k} = ${formatMetric(k, m)} (${m.value} ${m.unit})`),
        ...Object.entries(c.emulated?.metrics ?? {}).map(
          ([k, m]) => `${k} = ${formatEmulated(k, { measured: m, nodes: c.emulated!.nodes })}`,
        ),
      ].join('\n'),
    } satisfies Case;
  });
  if (r.error)
    checks.unshift({
      classname: `${cls}.campaign`,
      name: 'campaign completed',
      time: 0,
      outcome: { kind: 'error', message: r.error, type: 'campaign-error' },
    });
  else if (isInterrupted(r))
    checks.unshift({
      classname: `${cls}.campaign`,
      name: 'campaign completed',
      time: 0,
      outcome: { kind: 'error', message: 'the run was interrupted: it scores nothing', type: 'interrupted' },
    });
  return checks;
}

/** One case per criterion and one per gate. */
function rubricCases(r: RunRecord, cls: string): Case[] {
  const rubric: Case[] = [];
  for (const c of r.score.criteria) {
    const status = criterionStatus(c);
    const reason = criterionReason(c);
    rubric.push({
      classname: `${cls}.rubric`,
      name: `criterion ${c.id}: ${c.title}`,
      time: 0,
      outcome:
        c.points === undefined
          ? status === 'emulated'
            ? { kind: 'skipped', message: reason ?? 'emulated, not scored', type: 'emulated' }
            : { kind: 'skipped', message: reason ?? 'not measured on this target', type: 'not-measured' }
          : status === 'not-provided'
            ? {
                kind: 'failure',
                message: `not provided, scores 0 / ${c.weight}${reason ? `: ${reason}` : ''}`,
                type: 'not-provided',
              }
            : { kind: 'passed' },
      out:
        c.points === undefined
          ? undefined
          : `${c.points.toFixed(2)} / ${c.weight} points\n${c.terms
              .map(
                (t) =>
                  `${t.metric} = ${t.measured ? formatMetric(t.metric, t.measured) : 'not measured'}${t.emulated ? `; ${formatEmulated(t.metric, t.emulated)}` : ''}`,
              )
              .join('\n')}`,
    });
    for (const g of c.gates) {
      const what = `${g.gate.metric} ${g.gate.op} ${g.gate.value}`;
      const gs = gateStatus(g);
      rubric.push({
        classname: `${cls}.rubric`,
        name: `gate ${c.id}: ${what}`,
        time: 0,
        outcome:
          gs === 'passed'
            ? { kind: 'passed' }
            : gs === 'not-measured'
              ? {
                  kind: 'skipped',
                  message: g.reason?.startsWith('emulated')
                    ? `not judged: ${g.gate.metric} ${g.reason}`
                    : `not measured: ${g.gate.metric} was not measured, the gate was not judged`,
                  type: 'not-measured',
                }
              : {
                  kind: 'failure',
                  message: `gate failed: ${what} (measured ${g.measured ?? 'nothing'}) — ${g.gate.because}${c.points === 0 ? `; criterion ${c.id} scores 0 / ${c.weight}` : ''}`,
                  type: 'gate-failed',
                },
      });
    }
  }
  return rubric;
}

export function renderJUnit(r: RunRecord, evidence: readonly EvidenceFile[] = []): string {
  const cls = `edgechaos.${r.scenario.name}`;
  const checks = checkCases(r, cls);
  const rubric = rubricCases(r, cls);
  const all = [...checks, ...rubric];
  const n = (k: string): number => all.filter((c) => c.outcome.kind === k).length;
  const durationS = Math.max(0, (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000);
  const props: Record<string, string> = {
    runId: r.runId,
    scenario: r.scenario.name,
    seed: String(r.seed),
    target: r.target.kind,
    stack: `${r.stack.name}@${r.stack.version}`,
    rubric: `${r.score.rubric.name}@${r.score.rubric.version}`,
    score: `${r.score.total} / ${r.score.possible} (${r.score.percent}%)`,
    gatesPassed: String(r.gatesPassed),
  };
  const prov = provenanceOf(r);
  if (prov) for (const e of provenanceEntries(prov)) props[`provenance.${e.key}`] = e.value;
  for (const f of evidence) props[`evidence: ${f.label}`] = f.href;
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="edgechaos ${xml(r.scenario.name)} ${xml(r.runId)}" tests="${all.length}" failures="${n('failure')}" errors="${n('error')}" time="${durationS.toFixed(3)}">
${suiteXml(`${r.scenario.name} checks`, checks, r.startedAt, props)}
${suiteXml(`${r.scenario.name} rubric ${r.score.rubric.name} v${r.score.rubric.version}`, rubric, r.startedAt)}
</testsuites>
`;
}
