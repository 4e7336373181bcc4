/**
 * Capacities of the board profiles a fake (kwok) node can take. Until the local target publishes
 * its own profiles, these are the reference numbers (the boards' RAM and cores, pods per node as
 * a kubelet on that board would be configured).
 */
export interface BoardProfile {
  cpu: string;
  memory: string;
  pods: string;
  arch: 'arm64' | 'amd64';
}

export const boardProfiles = {
  rpi4: { cpu: '4', memory: '4Gi', pods: '32', arch: 'arm64' },
  rpi5: { cpu: '4', memory: '8Gi', pods: '32', arch: 'arm64' },
  'jetson-nano': { cpu: '4', memory: '4Gi', pods: '32', arch: 'arm64' },
  'cloud-vm': { cpu: '8', memory: '32Gi', pods: '110', arch: 'amd64' },
} as const satisfies Record<string, BoardProfile>;

export type BoardProfileName = keyof typeof boardProfiles;

export function isBoardProfile(name: string): name is BoardProfileName {
  return Object.hasOwn(boardProfiles, name);
}
