#!/usr/bin/env node
// The `flowtape` CLI. Registers tsx so the TypeScript sources (and TypeScript flow files) load on plain Node 20
// without a build step, then runs the entry.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
