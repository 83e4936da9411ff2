#!/usr/bin/env node
// Process entry of `flowtape` (bin/flowtape.js imports this after registering tsx). The only place that touches
// process signals and exits.
import type { CliIO } from './context.ts';
import { runCli } from './program.ts';
// The light subpath: the package's index would load every schema (and zod) before `--help` prints.
import { terminalSafe } from '@flowtape/schema/terminal-safe';

const handlers = new Set<(signal: string) => void>();
let interrupts = 0;

function onSignal(signal: NodeJS.Signals): void {
  interrupts++;
  if (interrupts === 1 && handlers.size > 0) {
    for (const handler of [...handlers]) handler(signal);
    return;
  }
  process.stderr.write(`flowtape: ${signal}: exiting now\n`);
  process.exit(130);
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const io: CliIO = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  cwd: process.cwd(),
  env: process.env,
  onInterrupt(handler) {
    handlers.add(handler);
    return () => void handlers.delete(handler);
  },
};

process.on('unhandledRejection', (reason) => {
  process.stderr.write(`flowtape: internal error: ${terminalSafe(reason instanceof Error ? reason.message.split('\n')[0]! : String(reason))}\n`);
  process.exit(2);
});

// No top-level await: a flow file loaded as CommonJS may require() our ESM modules, which Node refuses while the
// importing module graph is still evaluating.
void runCli(process.argv.slice(2), io).then((code) => {
  // Flush what was written, then leave even if a stray handle (a timer in user code) would keep the loop alive.
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
});
