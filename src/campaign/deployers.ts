import { kindDeployer, kubeDeployer, kubeLocalDeployer } from './kube-deployer.ts';
import { localDeployer } from './local-deployer.ts';
import type { Deployer } from './run.ts';
import { sshDeployerFromEnv } from '../targets/ssh/deployer.ts';

/** Targets that can run campaigns, by --target name. */
export const deployers: Record<string, Deployer> = {
  local: localDeployer,
  'kube-local': kubeLocalDeployer,
  kind: kindDeployer(),
  kube: kubeDeployer({}),
  ssh: sshDeployerFromEnv,
};
