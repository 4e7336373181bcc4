import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerdArgv, missingCaps, mountsUnder, type DockerdPaths } from '../../src/tools/dockerd.ts';

const p: DockerdPaths = {
  base: '/var/lib/ec/dockerd',
  dataRoot: '/var/lib/ec/dockerd/data',
  runDir: '/run/ec-dockerd',
  execRoot: '/run/ec-dockerd/exec',
  socket: '/run/ec-dockerd/docker.sock',
  pidfile: '/run/ec-dockerd/dockerd.pid',
  stateFile: '/run/ec-dockerd/state.json',
  logFile: '/var/lib/ec/dockerd/dockerd.log',
  configFile: '/var/lib/ec/dockerd/daemon.json',
};

describe('private dockerd', () => {
  it('touches no host network setting and keeps all its state in its own dirs', () => {
    const a = dockerdArgv(p);
    for (const f of [
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--bridge=none',
    ])
      assert.ok(a.includes(f), f);
    assert.deepEqual(a.slice(a.indexOf('--data-root'), a.indexOf('--data-root') + 2), [
      '--data-root',
      p.dataRoot,
    ]);
    assert.ok(
      a.includes(`unix://${p.socket}`) &&
        a.includes(p.execRoot) &&
        a.includes(p.pidfile) &&
        a.includes(p.configFile),
    );
    assert.ok(a.includes('native.cgroupdriver=cgroupfs'));
    assert.ok(!a.includes('--default-runtime'), 'no runtime workaround unless the probe asks for it');
    const w = dockerdArgv(p, { nosysres: '/x/runc-nosysres' });
    assert.deepEqual(w.slice(-4), [
      '--add-runtime',
      'edgechaos-nosysres=/x/runc-nosysres',
      '--default-runtime',
      'edgechaos-nosysres',
    ]);
  });

  it('finds the capabilities missing from a bounding set', () => {
    assert.deepEqual(missingCaps('000001ffffffffff', 40), []);
    assert.deepEqual(missingCaps('000001fffeffffff', 40), [24]); // this VM: no CAP_SYS_RESOURCE
    assert.deepEqual(missingCaps('00000000000000ff', 9), [8, 9]);
  });

  it('lists the mounts under its roots, deepest first', () => {
    const mi = [
      '22 1 0:21 / / rw - ext4 /dev/vda rw',
      '30 22 0:40 / /run/ec-dockerd/exec/netns/abc rw - nsfs nsfs rw',
      '31 22 0:41 / /var/lib/ec/dockerd/data/overlay2/x/merged rw - overlay overlay rw',
      '32 22 0:42 / /var/lib/ec/dockerd/data rw - ext4 /dev/vda rw',
      '33 22 0:43 / /var/lib/ec/dockerd-other rw - ext4 /dev/vda rw',
    ].join('\n');
    assert.deepEqual(mountsUnder(mi, [p.execRoot, p.dataRoot]), [
      '/var/lib/ec/dockerd/data/overlay2/x/merged',
      '/run/ec-dockerd/exec/netns/abc',
      '/var/lib/ec/dockerd/data',
    ]);
  });
});
