#!/usr/bin/env node
// Process entry of `flowtape` (bin/flowtape.js imports this after registering tsx). The only place that touches
// process signals and exits.
import type { CliIO, RunGuardHooks } from './context.ts';
import { runCli } from './program.ts';
// The light subpath: the package's index would load every schema (and zod) before `--help` prints.
import { terminalSafe } from '@flowtape/schema/terminal-safe';

const handlers = new Set<(signal: string) => void>();
let interrupts = 0;
/** Runs open (cli/run-guard.ts): they take uncaught errors, and are told if the process exits under them. */
const guards = new Set<RunGuardHooks>();
/** Set when flowtape itself exits: any other exit while a run is open came from the flow's code. */
let leaving = false;

function leave(code: number): never {
  leaving = true;
  process.exit(code);
}

function onSignal(signal: NodeJS.Signals): void {
  interrupts++;
  if (interrupts === 1 && handlers.size > 0) {
    for (const handler of [...handlers]) handler(signal);
    return;
  }
  process.stderr.write(`flowtape: ${signal}: exiting now\n`);
  leave(130);
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/**
 * A reader that went away (`flowtape run … | head -1`): what flowtape would still print is dropped, and the run goes
 * on to a whole bundle. Without a listener the stream's EPIPE would be an uncaught error, blamed on the flow.
 */
const closed = { stdout: false, stderr: false };
for (const name of ['stdout', 'stderr'] as const) {
  process[name].on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed[name] = true;
  });
}

const io: CliIO = {
  stdout: (text) => void (closed.stdout || process.stdout.write(text)),
  stderr: (text) => void (closed.stderr || process.stderr.write(text)),
  cwd: process.cwd(),
  env: process.env,
  onInterrupt(handler) {
    handlers.add(handler);
    return () => void handlers.delete(handler);
  },
  guardRun(guard) {
    guards.add(guard);
    return () => void guards.delete(guard);
  },
};

/** An error no await caught: the open run's (the flow's code), or else flowtape's own, said in one line. */
function onUncaught(error: unknown): void {
  if (guards.size > 0) {
    for (const guard of [...guards]) guard.onFault(error);
    return;
  }
  process.stderr.write(`flowtape: internal error: ${terminalSafe(error instanceof Error ? error.message.split('\n')[0]! : String(error))}\n`);
  leave(2);
}
process.on('uncaughtException', onUncaught);
process.on('unhandledRejection', onUncaught);
process.on('beforeExit', () => {
  for (const guard of [...guards]) guard.onStall();
});
process.on('exit', (code) => {
  if (leaving || guards.size === 0) return;
  for (const guard of [...guards]) guard.onExit(code);
  process.exitCode = 1;
});

// No top-level await: a flow file loaded as CommonJS may require() our ESM modules, which Node refuses while the
// importing module graph is still evaluating.
void runCli(process.argv.slice(2), io).then((code) => {
  // Flush what was written, then leave even if a stray handle (a timer in user code) would keep the loop alive.
  process.stdout.write('', () => process.stderr.write('', () => leave(code)));
});
