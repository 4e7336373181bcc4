import { localDeployer } from './local-deployer.ts';
import type { Deployer } from './run.ts';

/** Targets that can run campaigns, by --target name. */
export const deployers: Record<string, Deployer> = { local: localDeployer };
