#!/usr/bin/env node
// Runs the TypeScript entry through tsx, so the agent works on plain Node 20 without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/agent/replay-cli.ts');
