/**
 * The layers of edgechaos, enforced (scripts/test runs `npx depcruise` with this file):
 *
 *   core  ←  faults / checks / scoring / load / contract / record …  ←  targets  ←  campaign  ←  tournament  ←  cli
 *
 * Each rule names what may not be imported; a violation fails the test command. Reports read the
 * run record only.
 */
/**
 * One forbidden-import rule: files matching `from` may not import files matching `to`.
 * @param {string} name
 * @param {string} from
 * @param {string} to
 * @param {string} [comment]
 * @returns {import('dependency-cruiser').IForbiddenRuleType}
 */
const forbid = (name, from, to, comment) => ({
  name,
  ...(comment ? { comment } : {}),
  severity: 'error',
  from: { path: from },
  to: { path: to },
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      'core-is-the-ground-floor',
      '^src/core/',
      '^(src/(?!core/)|faults/|scenarios/|stack/)',
      'src/core imports nothing of edgechaos above it',
    ),
    forbid(
      'faults-are-below-targets',
      '^faults/',
      '^src/(targets|campaign|cli|report)/',
      'faults define the capabilities they need; targets implement them, never the other way round',
    ),
    forbid(
      'checks-and-scoring-judge-evidence',
      '^src/(checks|scoring)/',
      '^(src/(targets|campaign|cli|report|control-plane|scheduling)/|faults/)',
      'checks and scoring judge evidence and never touch a target, the campaign or the CLI',
    ),
    forbid(
      'load-is-below-targets',
      '^src/load/',
      '^(src/(targets|campaign|cli|report|checks|scoring)/|faults/)',
    ),
    forbid(
      'reports-read-the-record-only',
      '^src/report/',
      '^(src/(targets|cli|control-plane|scheduling|conform|contract|stack)/|src/campaign/(?!record\\.ts$)|faults/)',
      'report writers read run.json (the record) and never a target, the campaign or the CLI',
    ),
    forbid(
      'targets-are-below-the-campaign',
      '^src/targets/',
      '^src/(campaign|cli)/',
      'targets never import the campaign or the CLI (the campaign asks them through src/targets/plugin.ts)',
    ),
    forbid('campaign-is-below-the-cli', '^src/(?!cli/)', '^src/cli/'),
    forbid(
      'tournament-is-above-the-campaign',
      '^src/(?!cli/|tournament/)',
      '^src/tournament/',
      'a tournament runs campaigns and publishes their records; only the CLI uses it',
    ),
    forbid(
      'one-target-does-not-reach-into-another',
      '^src/targets/(local|kube|kind|kube-local)/',
      '^src/targets/ssh/',
      'a target folder may use the shared Kubernetes and local machinery, never the ssh target’s',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|reports|stack/dist|\\.tools)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
  },
};
