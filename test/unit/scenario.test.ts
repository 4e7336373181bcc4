import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planCampaign } from '../../src/campaign/plan.ts';
import { loadScenario } from '../../src/campaign/scenario.ts';
import { ScenarioError } from '../../src/core/errors.ts';
import { repoRoot } from '../../src/core/paths.ts';
import { scenarioErrorAt } from '../helpers/errors.ts';
import { tempDir, writeJson } from '../helpers/temp.ts';

const base = {
  name: 'x',
  nodes: [{ profile: 'rpi4' }, { profile: 'rpi-zero' }],
  duration: '30s',
  load: { script: join(repoRoot, 'scenarios/load/steady.ts') },
};

async function loadJson(obj: unknown): Promise<unknown> {
  using dir = tempDir('scn');
  return await loadScenario(writeJson(dir.path, 'bad.json', obj));
}

async function rejectsAt(obj: unknown, field: string, msg: RegExp): Promise<void> {
  await assert.rejects(loadJson(obj), scenarioErrorAt(field, msg, { describe: /bad\.json: field / }));
}

describe('scenario files', () => {
  it('should load the shipped standard scenario', async () => {
    const s = await loadScenario(join(repoRoot, 'scenarios/standard.ts'));
    assert.equal(s.name, 'standard');
    assert.equal(s.nodes.length, 3);
    assert.ok(s.paths.loadScript.endsWith('scenarios/load/steady.ts'));
  });
  it('should name the field of a bad duration', () =>
    rejectsAt({ ...base, duration: 'soon' }, 'duration', /cannot read "soon"/));
  it('should name the fault whose node does not exist', () =>
    rejectsAt(
      { ...base, faults: [{ kind: 'partition', node: 'edge-9', at: '1s', for: '2s' }] },
      'faults[0].node',
      /unknown node "edge-9"/,
    ));
  it('should reject a fault that starts after the load ends', () =>
    rejectsAt(
      { ...base, faults: [{ kind: 'kill', node: 'edge-1', at: '40s' }] },
      'faults[0].at',
      /after the end/,
    ));
  it('should reject unknown keys, naming the key', () =>
    rejectsAt({ ...base, loda: {} }, 'loda', /Unrecognized key/));
  it('should reject a warm-up longer than 7 days, naming the field', () =>
    rejectsAt({ ...base, warmup: '600h' }, 'warmup', /longer than the maximum of 7 days/));
  it('should print file, line, column and message of a syntax error', async () => {
    using dir = tempDir('scn');
    const file = join(dir.path, 'broken.ts');
    writeFileSync(file, "import x from 'y';\nexport default {\n  name: 'a',,\n};\n");
    await assert.rejects(loadScenario(file), (e: unknown) => {
      assert.ok(e instanceof ScenarioError, String(e));
      assert.equal(e.file, `${file}:3:12`);
      assert.equal(
        e.describe(),
        `${file}:3:12: scenario does not compile: Expected identifier but found ","`,
      );
      return true;
    });
  });
  it('should reject an unknown board profile, naming the node', () =>
    rejectsAt(
      { ...base, nodes: [{ profile: 'rpi4' }, { profile: 'cray-1' }] },
      'nodes[1].profile',
      /unknown board profile "cray-1" \(known: rpi4, rpi-zero, jetson-nano, x86-edge/,
    ));
  it('should reject a subnet that is not a private range', () =>
    rejectsAt(
      { ...base, target: { kind: 'local', subnet: '0.0.0.0/0' } },
      'target.subnet',
      /subnet 0\.0\.0\.0\/0 is not a private \(RFC 1918\) range/,
    ));
  it('should reject a subnet without room for the run', () =>
    rejectsAt(
      { ...base, target: { kind: 'local', subnet: '10.9.0.0/29' } },
      'target.subnet',
      /has room for 0 edge nodes, not 2/,
    ));
  it('should reject a subnet that is not a CIDR', () =>
    rejectsAt(
      { ...base, target: { kind: 'local', subnet: '10.9.0.0' } },
      'target.subnet',
      /not an IPv4 CIDR/,
    ));
  it('should reject a load script that does not exist, naming the field', () =>
    rejectsAt(
      { ...base, load: { script: 'no-such-load.ts' } },
      'load.script',
      /load script .*no-such-load\.ts does not exist/,
    ));
  it('should reject a misspelt fault kind, naming the fault', () =>
    rejectsAt(
      { ...base, faults: [{ kind: 'partiton', node: 'edge-1', at: '1s', for: '2s' }] },
      'faults[0].kind',
      /unknown fault kind "partiton" \(known: partition, latency/,
    ));
  it('should say when the file does not exist', async () => {
    await assert.rejects(loadScenario('/nonexistent/s.ts'), /scenario file not found/);
  });
});

describe('campaign plan', () => {
  it('should pick random nodes from the seed, the same way every time', async () => {
    using dir = tempDir('scn');
    const file = writeJson(dir.path, 's.json', {
      ...base,
      faults: Array.from({ length: 8 }, (_, i) => ({
        kind: 'kill',
        node: { random: ['edge-1', 'edge-2'] },
        at: `${i}s`,
      })),
    });
    const s = await loadScenario(file);
    const a = planCampaign(s, 7).faults.map((f) => f.node);
    const b = planCampaign(s, 7).faults.map((f) => f.node);
    const c = planCampaign(s, 8).faults.map((f) => f.node);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.equal(planCampaign(s, 7).seed, 7);
  });
});
