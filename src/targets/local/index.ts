export { LocalDeployment, parseAcctCounters } from './deployment.ts';
export { localNames, cgroupPath, type LocalNames } from './names.ts';
export { boardProfiles, cpuQuota, parseBytes, resolveProfile } from './profiles.ts';
export { registerLocalReverters } from './reverters.ts';
export {
  deploymentsDir,
  listDeploymentStates,
  loadDeploymentState,
  removeDeploymentState,
  saveDeploymentState,
  type LocalDeploymentState,
} from './state.ts';
export { formatCidr, parseCidr, pickRunSubnet, runAddresses } from './subnet.ts';
export { LocalTarget, defaultSubnetPool, mapLimit, resolveTopology } from './target.ts';
export {
  acctScript,
  planTopology,
  wrapInNode,
  type LocalNodeState,
  type TopologyPlan,
} from './topology-plan.ts';
