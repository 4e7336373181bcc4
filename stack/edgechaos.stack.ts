import { defineStack } from '../src/stack/manifest.ts';

/** The reference edge stack (Go), built by stack/build.sh into stack/dist/. */
export default defineStack({
  name: 'edgechaos-reference',
  edge: { command: ['./dist/bin/linux-amd64/edge-agent'], port: 7001, image: 'edge-agent' },
  hub: { command: ['./dist/bin/linux-amd64/cloud-hub'], port: 7000, image: 'cloud-hub' },
  images: {
    'edge-agent': './dist/images/edge-agent-amd64.tar',
    'cloud-hub': './dist/images/cloud-hub-amd64.tar',
  },
  kube: { manifests: './deploy', scheduler: 'edge-scheduler' },
});
