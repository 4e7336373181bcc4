import { boards, type BoardName } from '../core/boards.ts';

/**
 * Capacities a fake (kwok) node takes: what a kubelet on that board would report, from the one board
 * table (src/core/boards.ts) — its cores and RAM, pods as it would be configured — plus the cloud node.
 */
export interface BoardProfile {
  cpu: string;
  memory: string;
  pods: string;
  arch: 'arm64' | 'amd64';
}

const capacity = (b: (typeof boards)[BoardName]): BoardProfile => ({
  cpu: String(b.cores),
  memory: b.ram,
  pods: String(b.pods),
  arch: b.arch,
});

export const boardProfiles = {
  ...(Object.fromEntries(Object.entries(boards).map(([n, b]) => [n, capacity(b)])) as Record<
    BoardName,
    BoardProfile
  >),
  /** The cloud node of a mirrored cluster (not a board). */
  'cloud-vm': { cpu: '8', memory: '32Gi', pods: '110', arch: 'amd64' },
} satisfies Record<string, BoardProfile>;

export type BoardProfileName = keyof typeof boardProfiles;

export function isBoardProfile(name: string): name is BoardProfileName {
  return Object.hasOwn(boardProfiles, name);
}
