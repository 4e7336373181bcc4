/** A kubeconfig (JSON is valid kubeconfig YAML) for one bearer-token user of one cluster. */
export interface KubeconfigSpec {
  server: string;
  /** PEM of the CA (or self-signed chain) that signed the API server's serving certificate. */
  caPem: string;
  user: string;
  token: string;
  cluster?: string;
}

export function kubeconfig(spec: KubeconfigSpec): Record<string, unknown> {
  const cluster = spec.cluster ?? 'edgechaos';
  const context = `${spec.user}@${cluster}`;
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: {
          server: spec.server,
          'certificate-authority-data': Buffer.from(spec.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name: spec.user, user: { token: spec.token } }],
    contexts: [{ name: context, context: { cluster, user: spec.user } }],
    'current-context': context,
  };
}

export interface StaticTokenUser {
  token: string;
  user: string;
  uid: string;
  groups: string[];
}

/** The API server's --token-auth-file: `token,user,uid,"group1,group2"` per line. */
export function tokenAuthFile(users: readonly StaticTokenUser[]): string {
  return users.map((u) => `${u.token},${u.user},${u.uid},"${u.groups.join(',')}"`).join('\n') + '\n';
}
