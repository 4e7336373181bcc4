import { join } from 'node:path';

/**
 * Command lines of the embedded control plane, as pure functions of ports and paths (unit-tested;
 * the launcher only runs them). Everything binds to 127.0.0.1.
 */

/** How quickly a lost node is noticed and its pods evicted. Real clusters: 40 s lease, 50 s grace, 300 s toleration. */
export interface NodeLossTimings {
  /** kwok's node lease duration; kwok renews every quarter of it. */
  nodeLeaseSeconds: number;
  /** kube-controller-manager --node-monitor-grace-period: no lease renewal for this long → unreachable. */
  nodeMonitorGraceSeconds: number;
  /** kube-apiserver --default-{unreachable,not-ready}-toleration-seconds: pods' grace on a tainted node. */
  evictionTolerationSeconds: number;
  /** kube-controller-manager --node-eviction-rate (nodes tainted per second). */
  nodeEvictionRate: number;
}

export const defaultNodeLossTimings: NodeLossTimings = {
  nodeLeaseSeconds: 8,
  nodeMonitorGraceSeconds: 12,
  evictionTolerationSeconds: 2,
  // Not 1: the node-lifecycle controller parks its taint queue on a "never" limiter whose QPS()
  // reports 1 while all nodes look unready (briefly, right after the fake nodes are created), and
  // SwapLimiter(1) then sees "no change" and never resumes — lost nodes would never be tainted.
  nodeEvictionRate: 2,
};

export interface ControlPlanePorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

/** Files of one control plane, all under its run dir. */
export function controlPlaneLayout(dir: string) {
  return {
    etcdData: join(dir, 'etcd'),
    pki: join(dir, 'pki'),
    servingCert: join(dir, 'pki', 'apiserver.crt'),
    tokens: join(dir, 'tokens.csv'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    kubeconfig: (user: string) => join(dir, `${user}.kubeconfig`),
    kwokConfig: join(dir, 'kwok.yaml'),
    log: (component: string) => join(dir, 'logs', `${component}.log`),
  };
}
export type ControlPlaneLayout = ReturnType<typeof controlPlaneLayout>;

const loop = '127.0.0.1';

export function etcdArgs(bin: string, ports: ControlPlanePorts, l: ControlPlaneLayout): string[] {
  const client = `http://${loop}:${ports.etcdClient}`;
  const peer = `http://${loop}:${ports.etcdPeer}`;
  return [
    bin,
    '--name=edgechaos',
    `--data-dir=${l.etcdData}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=edgechaos=${peer}`,
    '--initial-cluster-state=new',
    // A throw-away test bed: durability across power loss is not needed, disk latency is.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export function apiserverArgs(
  bin: string,
  ports: ControlPlanePorts,
  l: ControlPlaneLayout,
  t: NodeLossTimings,
): string[] {
  return [
    bin,
    'kube-apiserver',
    `--etcd-servers=http://${loop}:${ports.etcdClient}`,
    `--bind-address=${loop}`,
    `--advertise-address=${loop}`,
    `--secure-port=${ports.apiserver}`,
    // Self-signed serving certificate (for 127.0.0.1) written here; clients trust it via kubeconfig.
    `--cert-dir=${l.pki}`,
    `--token-auth-file=${l.tokens}`,
    '--authorization-mode=RBAC',
    '--anonymous-auth=false',
    `--service-account-issuer=https://kubernetes.default.svc`,
    `--service-account-key-file=${l.saPub}`,
    `--service-account-signing-key-file=${l.saKey}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    `--default-not-ready-toleration-seconds=${t.evictionTolerationSeconds}`,
    `--default-unreachable-toleration-seconds=${t.evictionTolerationSeconds}`,
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=0',
  ];
}

/**
 * The arguments kube-controller-manager and kube-scheduler share: their own kubeconfig for every
 * client, a secure port on loopback, a certificate folder, no leader election; then `own`.
 */
function loopbackComponentArgs(
  bin: string,
  component: 'kube-controller-manager' | 'kube-scheduler',
  securePort: number,
  certDir: string,
  l: ControlPlaneLayout,
  own: string[],
): string[] {
  const kc = l.kubeconfig(component);
  return [
    bin,
    component,
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    `--bind-address=${loop}`,
    `--secure-port=${securePort}`,
    `--cert-dir=${certDir}`,
    '--leader-elect=false',
    ...own,
    '--profiling=false',
    '--v=0',
  ];
}

export function controllerManagerArgs(
  bin: string,
  ports: ControlPlanePorts,
  l: ControlPlaneLayout,
  t: NodeLossTimings,
): string[] {
  return loopbackComponentArgs(
    bin,
    'kube-controller-manager',
    ports.controllerManager,
    join(l.pki, 'controller-manager'),
    l,
    [
      `--service-account-private-key-file=${l.saKey}`,
      `--root-ca-file=${l.servingCert}`,
      '--use-service-account-credentials=false',
      '--node-monitor-period=1s',
      `--node-monitor-grace-period=${t.nodeMonitorGraceSeconds}s`,
      `--node-eviction-rate=${evictionRate(t.nodeEvictionRate)}`,
    ],
  );
}

/** See defaultNodeLossTimings: a rate of exactly 1 can stop tainting for good. */
function evictionRate(r: number): number {
  if (!(r > 0)) throw new RangeError(`nodeEvictionRate must be > 0, got ${r}`);
  return r === 1 ? 1.01 : r;
}

export function schedulerArgs(bin: string, ports: ControlPlanePorts, l: ControlPlaneLayout): string[] {
  return loopbackComponentArgs(bin, 'kube-scheduler', ports.scheduler, join(l.pki, 'scheduler'), l, []);
}

/** Label kwok selects nodes by; setting it to anything else stops that node's heartbeat. */
export const KWOK_MANAGED_LABEL = 'edgechaos.io/kwok';
export const KWOK_MANAGED = 'managed';
export const KWOK_LOST = 'lost';

export function kwokArgs(bin: string, l: ControlPlaneLayout, t: NodeLossTimings): string[] {
  return [
    bin,
    `--kubeconfig=${l.kubeconfig('kwok')}`,
    `--config=${l.kwokConfig}`,
    `--manage-nodes-with-label-selector=${KWOK_MANAGED_LABEL}=${KWOK_MANAGED}`,
    `--node-lease-duration-seconds=${t.nodeLeaseSeconds}`,
    '--cidr=10.244.0.0/16',
    '--node-ip=127.0.0.1',
  ];
}
