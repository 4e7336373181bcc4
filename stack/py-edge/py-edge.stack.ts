import { fileURLToPath } from 'node:url';
import { defineStack } from '../../src/stack/manifest.ts';

/**
 * py-edge: a reference-contract edge agent in Python (stdlib only) on a Debian rootfs built from
 * Debian packages (stack/py-edge/build.sh), with a shell entrypoint and a non-root user; the hub is
 * the reference Go hub. Runs from its image by default (--runtime oci); `--runtime process` runs
 * the same agent.py with the host's python3.
 */
export default defineStack({
  name: 'py-edge',
  edge: {
    command: ['python3', fileURLToPath(new URL('./app/agent.py', import.meta.url))],
    port: 7001,
    image: 'py-edge',
  },
  hub: { command: ['../dist/bin/linux-amd64/cloud-hub'], port: 7000, image: 'cloud-hub' },
  images: {
    'py-edge': '../dist/images/py-edge-amd64.tar',
    'cloud-hub': '../dist/images/cloud-hub-amd64.tar',
  },
});
