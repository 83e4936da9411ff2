/**
 * The `flowtape` program: parses arguments with commander, runs one command, and maps every error to an exit code
 * in one place — 0 success, 1 the command's negative verdict (a failed run, an invalid bundle), 2 usage or input
 * errors and internal errors. Messages are one line; stacks only with FLOWTAPE_DEBUG=1.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import type { CliContext, CliIO } from './context.ts';
import { CliError, UsageError } from './errors.ts';
// The light subpath: the package's index would load every schema (and zod) before `--help` prints.
import { terminalSafe } from '@flowtape/schema/terminal-safe';

const VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Errors whose message is already a complete, actionable line (bad flows, bad bundles, bad options). */
const EXPECTED = new Set([
  'FlowDefinitionError',
  'RunOptionsError',
  'ResumeError',
  'ResumeBundleError',
  'RecordError',
  'VerifyInputError',
  'ViewerServerError',
  'BundleFormatError',
  'NewerFormatError',
  'UnsafeBundleError',
  'OtlpConfigError',
]);

export async function runCli(argv: readonly string[], rawIo: CliIO): Promise<number> {
  let exitCode = 0;
  /** Whether a command wrote its JSON document (`--json`): one that failed before it gets an error document. */
  let jsonWritten = false;
  // The one place text output is made safe for a terminal: every command, commander's messages and the error lines
  // below write through this io. Only `cli.json` writes to the raw stream.
  const io: CliIO = {
    ...rawIo,
    stdout: (text) => rawIo.stdout(terminalSafe(text)),
    stderr: (text) => rawIo.stderr(terminalSafe(text)),
    onInterrupt: (handler) => rawIo.onInterrupt(handler),
  };
  const program = new Command('flowtape')
    .description('Record agent-flow runs into run bundles; verify and view them.')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(`flowtape: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError();
  const cli: CliContext = {
    io,
    json: (value, indent) => {
      jsonWritten = true;
      rawIo.stdout(`${JSON.stringify(value, null, indent)}\n`);
    },
    action:
      (fn) =>
      async (...args) => {
        const code = await fn(...args);
        exitCode = code ?? 0;
      },
  };
  for (const command of commands) command.register(program, cli);
  // Whether the command that runs asked for JSON, as commander parsed it (`--input --json` gives --input a value).
  let jsonRequested = false;
  program.hook('preAction', (_program, action) => {
    jsonRequested = action.opts<{ json?: boolean }>().json === true;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    const code = exitCodeOf(error, io);
    // A command that asked for JSON and failed once parsed gets a document, `{"error": …}`, its line on stderr too
    // (commander's own usage errors print their line only).
    if (!jsonWritten && !(error instanceof CommanderError) && jsonRequested) {
      rawIo.stdout(`${JSON.stringify({ error: { message: errorLine(error), exitCode: code } })}\n`);
    }
    return code;
  }
}

/** An error's first non-blank line: what the one-line message on stderr says. */
function errorLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
}

function exitCodeOf(error: unknown, io: CliIO): number {
  if (error instanceof CommanderError) {
    // commander printed its own message (usage errors) or the help/version text.
    // `--help`, `help [cmd]` and `--version` exit 0; help shown because a command was missing is a usage error.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
    return 2;
  }
  const line = errorLine(error);
  if (error instanceof CliError) {
    io.stderr(`flowtape: ${line}\n`);
    return error.exitCode;
  }
  if (error instanceof UsageError || (error instanceof Error && EXPECTED.has(error.name))) {
    io.stderr(`flowtape: ${line}\n`);
    return 2;
  }
  io.stderr(`flowtape: internal error: ${line}\n`);
  if (io.env.FLOWTAPE_DEBUG === '1' && error instanceof Error && error.stack) io.stderr(`${error.stack}\n`);
  return 2;
}
