#!/usr/bin/env node
// Entry point: load the TypeScript sources through tsx's ESM loader (scenarios are TypeScript too).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
