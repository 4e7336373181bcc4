export { SshBoard } from './board.ts';
export { estimateOffset, toHarnessMs, type ClockOffset, type ClockSample } from './clock.ts';
export { classifySshFailure, SshConnection } from './connection.ts';
export { sshPlugin } from './plugin.ts';
export { SshDeployment } from './deployment.ts';
export {
  inventorySchema,
  loadInventory,
  resolveInventory,
  type Inventory,
  type InventoryHost,
} from './inventory.ts';
export { boardLayout, detachPrefix } from './layout.ts';
export { checkPreflight, parsePreflight, type BoardFacts } from './preflight.ts';
export { remoteCommand, shellQuote } from './remote-command.ts';
export { registerSshReverters } from './reverters.ts';
export { renderSshConfig } from './ssh-config.ts';
export { SshShell } from './shell.ts';
export { archVariant, SshTarget } from './target.ts';
