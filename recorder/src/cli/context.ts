/** What a command gets from the entry: output streams, the working directory, and interrupt notifications. */
import type { Command } from 'commander';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  cwd: string;
  env: Record<string, string | undefined>;
  /**
   * Calls `handler` on the first SIGINT/SIGTERM (with the signal name) instead of exiting; a second one exits at
   * once. Returns a function that removes the handler.
   */
  onInterrupt(handler: (signal: string) => void): () => void;
  /**
   * While a run is open (until the returned function is called): an error thrown or rejected outside every await
   * goes to `onFault` instead of ending the process with "internal error"; an event loop that runs dry goes to
   * `onStall`; and if the process exits meanwhile (the flow's code called process.exit), `onExit` runs
   * (synchronously: write only) and the exit code becomes 1.
   */
  guardRun(guard: RunGuardHooks): () => void;
}

/** What the entry tells an open run (cli/run-guard.ts). */
export interface RunGuardHooks {
  /** An error thrown or rejected outside every await. */
  onFault(error: unknown): void;
  /** The event loop ran dry (`beforeExit`): nothing is pending, and the run is not over. */
  onStall(): void;
  /** The process is exiting (synchronous: write only). */
  onExit(code: number): void;
}

export interface CliContext {
  /**
   * Output for people. Everything written through it is made safe for a terminal first (control characters from
   * bundles, agents and flows shown escaped: schema/src/terminal-safe.ts); flowtape's own newlines are kept.
   */
  io: CliIO;
  /**
   * Writes `JSON.stringify(value, null, indent)` and a newline to stdout as it is (`--json`): JSON escaping already
   * keeps control characters out, and the document must stay exactly what JSON.stringify made.
   */
  json(value: unknown, indent?: number): void;
  /** Wraps a command action: its return value is the exit code (default 0); errors go to the entry's mapping. */
  action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void>;
}

/** A CLI command: one module per command, listed in commands/index.ts. */
export interface CliCommand {
  register(program: Command, cli: CliContext): void;
}
