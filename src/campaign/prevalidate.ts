import { loadRubric } from '../scoring/rubric.ts';
import type { Rubric } from '../scoring/types.ts';
import { loadStack, referenceStackFile, type StackManifest } from '../stack/manifest.ts';
import { planCampaign, type Plan } from './plan.ts';
import { inScenarioFile, type Scenario } from './scenario.ts';

/**
 * Everything a run checks before it touches anything, in one place, so `run --dry-run` runs exactly
 * what a real run does: the seeded plan, the stack manifest (its commands exist and resolve), the
 * rubric, and the target's preflight (every fault planned against the scenario's nodes, tools
 * present). An error names the scenario file and field.
 */
export async function prevalidateCampaign(
  scenario: Scenario,
  opts: {
    seed?: number | undefined;
    stackFile?: string | undefined;
    preflight?: ((plan: Plan, stack: StackManifest) => Promise<void>) | undefined;
  },
): Promise<{ plan: Plan; stack: StackManifest; rubric: Rubric }> {
  const plan = planCampaign(scenario, opts.seed);
  const stack = await loadStack(opts.stackFile ?? scenario.paths.stack ?? referenceStackFile);
  const rubric = await loadRubric(scenario.paths.rubric);
  try {
    await opts.preflight?.(plan, stack);
  } catch (err) {
    throw inScenarioFile(err, scenario);
  }
  return { plan, stack, rubric };
}
