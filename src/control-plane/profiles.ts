/**
 * Capacities of the board profiles a fake (kwok) node can take: what a kubelet on that board would
 * report — its cores and RAM, pods as it would be configured. The names follow the local target's
 * profiles (src/targets/local/profiles.ts); those are cgroup quotas relative to the host, these are
 * the boards' own numbers (the rpi4 here is the 4 GB model; `rpi-zero` is the Zero 2 W).
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
  'rpi-zero': { cpu: '4', memory: '512Mi', pods: '16', arch: 'arm64' },
  'jetson-nano': { cpu: '4', memory: '4Gi', pods: '32', arch: 'arm64' },
  'x86-edge': { cpu: '4', memory: '8Gi', pods: '64', arch: 'amd64' },
  'cloud-vm': { cpu: '8', memory: '32Gi', pods: '110', arch: 'amd64' },
} as const satisfies Record<string, BoardProfile>;

export type BoardProfileName = keyof typeof boardProfiles;

export function isBoardProfile(name: string): name is BoardProfileName {
  return Object.hasOwn(boardProfiles, name);
}
