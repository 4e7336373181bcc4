/**
 * The layers of edgechaos, enforced (scripts/test runs `npx depcruise` with this file):
 *
 *   core  ←  faults / checks / scoring / load / contract / record …  ←  targets  ←  campaign  ←  tournament  ←  cli
 *
 * Each rule names what may not be imported; a violation fails the test command. Reports read the
 * run record only.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-the-ground-floor',
      comment: 'src/core imports nothing of edgechaos above it',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^(src/(?!core/)|faults/|scenarios/|stack/)' },
    },
    {
      name: 'faults-are-below-targets',
      comment: 'faults define the capabilities they need; targets implement them, never the other way round',
      severity: 'error',
      from: { path: '^faults/' },
      to: { path: '^src/(targets|campaign|cli|report)/' },
    },
    {
      name: 'checks-and-scoring-judge-evidence',
      comment: 'checks and scoring judge evidence and never touch a target, the campaign or the CLI',
      severity: 'error',
      from: { path: '^src/(checks|scoring)/' },
      to: { path: '^(src/(targets|campaign|cli|report|control-plane|scheduling)/|faults/)' },
    },
    {
      name: 'load-is-below-targets',
      severity: 'error',
      from: { path: '^src/load/' },
      to: { path: '^(src/(targets|campaign|cli|report|checks|scoring)/|faults/)' },
    },
    {
      name: 'reports-read-the-record-only',
      comment: 'report writers read run.json (the record) and never a target, the campaign or the CLI',
      severity: 'error',
      from: { path: '^src/report/' },
      to: {
        path: '^(src/(targets|cli|control-plane|scheduling|conform|contract|stack)/|src/campaign/(?!record\\.ts$)|faults/)',
      },
    },
    {
      name: 'targets-are-below-the-campaign',
      comment:
        'targets never import the campaign or the CLI (the campaign asks them through src/targets/plugin.ts)',
      severity: 'error',
      from: { path: '^src/targets/' },
      to: { path: '^src/(campaign|cli)/' },
    },
    {
      name: 'campaign-is-below-the-cli',
      severity: 'error',
      from: { path: '^src/(?!cli/)' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'tournament-is-above-the-campaign',
      comment: 'a tournament runs campaigns and publishes their records; only the CLI uses it',
      severity: 'error',
      from: { path: '^src/(?!cli/|tournament/)' },
      to: { path: '^src/tournament/' },
    },
    {
      name: 'one-target-does-not-reach-into-another',
      comment: 'a target folder may use the shared Kubernetes and local machinery, never the ssh target’s',
      severity: 'error',
      from: { path: '^src/targets/(local|kube|kind|kube-local)/' },
      to: { path: '^src/targets/ssh/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|reports|stack/dist|\\.tools)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
