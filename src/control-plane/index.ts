export { startControlPlane, StartedControlPlane } from './control-plane.ts';
export type { ControlPlaneOptions, ControlPlaneUser, StartupPhases } from './control-plane.ts';
export { defaultNodeLossTimings } from './component-args.ts';
export type { NodeLossTimings } from './component-args.ts';
export { defaultNodes, fakeNode, ROLE_LABEL, PROFILE_LABEL } from './nodes.ts';
export type { FakeNodeSpec, NodeRole } from './nodes.ts';
export { boardProfiles } from './profiles.ts';
export type { BoardProfile, BoardProfileName } from './profiles.ts';
export { installKubeTools, kubeBinary, kubeBinDir, readKubeLock, KUBE_INSTALL_HINT } from './tools.ts';
