/** A run provenance with every field set (a label holding markup, to check escaping). */
export const provenanceFixture = {
  harnessVersion: '0.3.0',
  gitCommit: '0123abc',
  rubric: { name: 'edge-track', version: '2', sha256: 'aa'.repeat(32) },
  scenarioSha256: 'bb'.repeat(32),
  stack: {
    name: 'reference',
    version: '1.0.0',
    manifestSha256: 'cc'.repeat(32),
    images: [{ file: 'edge-agent.tar', digest: 'sha256:feed' }],
  },
  target: 'local',
  host: { kernel: '6.18.0', cpuModel: 'AMD EPYC', cores: 2 },
  node: 'v20.19.0',
  go: 'go1.23.4',
  seed: 20261125,
  label: 'team <blue>',
};
