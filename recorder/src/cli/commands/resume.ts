/** `flowtape resume <bundle>`: continues a run waiting at a checkpoint, appending to the same bundle. */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { CliCommand, CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { MCP_CONFIG_HELP, parseInput } from '../input.ts';
import { agentFlagOptions, agentRunOptions, liveExport, liveExportOptions, reportRun, type AgentFlags, type LiveExportFlags } from './run-and-resume.ts';

interface ResumeFlags extends AgentFlags, LiveExportFlags {
  input?: string;
  flow?: string;
  quiet?: boolean;
  json?: boolean;
}

export const resumeCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    const command = program
      .command('resume')
      .description('continue a run that waits at a checkpoint (the bundle grows; seq continues)')
      .argument('<bundle>', 'the bundle directory of the waiting run')
      .option('--input <json|@file>', 'the resume input (read by `$resume.<field>` switches and context.resume)')
      .option('--flow <file>', 'the flow file (default: the one recorded in flow.json)');
    agentFlagOptions(command, `${MCP_CONFIG_HELP} (not kept from the run: its values are secrets, give it again)`);
    liveExportOptions(command, 'resumed run')
      .option('-q, --quiet', 'no per-node progress on stderr')
      .option('--json', 'print {bundle, runId, status, error} as JSON instead of the bundle path')
      .action(
        cli.action(async (bundle: string, flags: ResumeFlags) => {
          const { io } = cli;
          const input = parseInput(flags.input, io.cwd);
          const agentOptions = agentRunOptions(flags, io.cwd);
          const dir = resolve(io.cwd, bundle);
          const { loadWaitingBundle } = await import('../../bundle/resume-state.ts');
          const waiting = await loadWaitingBundle(dir);
          const flowPath = flags.flow ?? waiting.flow.flowFile;
          if (!flowPath) throw new UsageError(`${bundle}: flow.json does not say which flow file the run came from: give --flow <file>`);
          const base = flags.flow ? io.cwd : (waiting.cwd ?? io.cwd);
          const { loadFlowFile } = await import('../flow-loader.ts');
          const { flow } = await loadFlowFile(resolve(base, flowPath), io.cwd);
          const { guardRun } = await import('../run-guard.ts');
          const guard = guardRun(io, 'run', () => dir);
          if (!flags.quiet) io.stderr(`flowtape: resuming ${flow.name} at ${waiting.state.checkpoint}\n`);
          const { resumeRecorded } = await import('../../record.ts');
          const { progressObserver } = await import('../progress.ts');
          try {
            const result = await resumeRecorded(dir, flow, input, {
              signal: guard.signal,
              ...(waiting.cwd ? {} : { cwd: io.cwd }),
              ...agentOptions,
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
