/** `flowtape run <flow.ts>`: runs a flow with tracing on and prints the bundle path. */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { DEFAULT_RUNS_ROOT, parseInput } from '../input.ts';
import { agentFlagOptions, agentRunOptions, liveExport, liveExportOptions, reportRun, type AgentFlags, type LiveExportFlags } from './run-and-resume.ts';

interface RunFlags extends AgentFlags, LiveExportFlags {
  input?: string;
  out?: string;
  cwd?: string;
  deterministic?: boolean;
  runId?: string;
  quiet?: boolean;
  json?: boolean;
}

/** The run's working directory: `--cwd` relative to the current directory, which must exist. */
function runDirectory(cwd: string, option: string | undefined): string {
  if (option === undefined) return cwd;
  const dir = resolve(cwd, option);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--cwd ${option}: not a directory`);
  return dir;
}

export const runCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    const command = program
      .command('run')
      .description('run a flow with tracing on; prints the bundle directory')
      .argument('<flow>', 'the flow file (TypeScript or JavaScript, `export default defineFlow(…)`)')
      .option('--input <json|@file>', 'the run input: JSON, or @path to a JSON file', undefined)
      .option('--out <dir>', 'runs root: the bundle is written to <dir>/<runId>', DEFAULT_RUNS_ROOT)
      .option('--cwd <dir>', "the run's working directory: agents and shell actions run there and agent file access stays inside it (default: the current directory)");
    agentFlagOptions(command)
      .option('--deterministic', 'fixed clock and ids, no machine paths (samples, goldens)')
      .option('--run-id <id>', 'the run id (default: time + flow name + random)');
    liveExportOptions(command, 'run')
      .option('-q, --quiet', 'no per-node progress on stderr')
      .option('--json', 'print {bundle, runId, status, error, usage, warnings} as JSON instead of the bundle path')
      .action(
        cli.action(async (flowPath: string, flags: RunFlags) => {
          const { io } = cli;
          // No --input is `{}`; any JSON given, `null` too, is the input as given.
          const input = flags.input === undefined ? {} : parseInput(flags.input, io.cwd);
          const cwd = runDirectory(io.cwd, flags.cwd);
          const agentOptions = agentRunOptions(flags, io.cwd);
          const { loadFlowFile } = await import('../flow-loader.ts');
          const { flow, file } = await loadFlowFile(flowPath, io.cwd);
          const outDir = resolve(io.cwd, flags.out ?? DEFAULT_RUNS_ROOT);
          const { guardRun } = await import('../run-guard.ts');
          const guard = guardRun(io, 'run', (runId) => (runId === undefined ? undefined : join(outDir, runId)));
          if (!flags.quiet) io.stderr(`flowtape: running ${flow.name}\n`);
          const { record } = await import('../../record.ts');
          const { progressObserver } = await import('../progress.ts');
          try {
            const result = await record(flow, input, {
              cwd,
              // Paths typed on the command line are relative to where they were typed, not to --cwd.
              outDir,
              flowFile: file,
              signal: guard.signal,
              ...agentOptions,
              ...(flags.deterministic ? { deterministic: true } : {}),
              ...(flags.runId ? { runId: flags.runId } : {}),
              ...liveExport(flags, io),
              observer: guard.observe(flags.quiet ? undefined : progressObserver((text) => io.stderr(text))),
            });
            return guard.verdict(await reportRun(cli, result, flags.json));
          } finally {
            guard.stop();
          }
        }),
      );
  },
};
