#!/usr/bin/env node
// The `flowtape` CLI from the repository's TypeScript sources (the published package's bin is the built
// dist/cli/main.js). Registers tsx's ESM and CommonJS hooks, as the built CLI does when it loads a TypeScript flow.
import { register } from 'tsx/esm/api';
import { register as registerCjs } from 'tsx/cjs/api';

register();
registerCjs();
await import('../src/cli/main.ts');
