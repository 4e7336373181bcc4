export { applyFault, planContext, resolveFault, type AppliedFault } from './apply.ts';
export { catalogue, faultKind, planFault } from './catalogue.ts';
export { flapSchedule } from './flap.ts';
export { partitionPeers, partitionScript } from './partition.ts';
export { tbfArgv } from './bandwidth.ts';
export { cpuStressArgv } from './cpu-stress.ts';
export { memoryStressArgv } from './memory-stress.ts';
export type {
  Fault,
  FaultKind,
  FaultPlan,
  FaultStep,
  PlanContext,
  ResolvedFault,
  ToxicSpec,
} from './types.ts';
