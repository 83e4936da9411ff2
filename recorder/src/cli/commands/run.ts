/** `flowtape run <flow.ts>`: runs a flow with tracing on and prints the bundle path. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { RecordResult } from '../../record.ts';
import type { PermissionPolicy } from '../../runtime/index.ts';
import type { LiveOtlpOptions } from '../../tools/export/otlp-live.ts';
import type { CliCommand, CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { AUTH_FLAG_HELP, authFlag, DEFAULT_RUNS_ROOT, MCP_CONFIG_HELP, parseInput, PERMISSION_HELP, PERMISSION_POLICIES, readMcpConfig } from '../input.ts';

interface RunFlags extends LiveExportFlags {
  input?: string;
  out?: string;
  cwd?: string;
  agent?: string;
  deterministic?: boolean;
  permission?: PermissionPolicy;
  mcpConfig?: string;
  auth?: string;
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

/** 0 for a run that completed or waits at a checkpoint, 1 for failed, timed out or cancelled. */
export function exitCodeFor(status: RecordResult['status']): number {
  return status === 'completed' || status === 'waiting' ? 0 : 1;
}

/** The closing lines of `run` and `resume`: the bundle path on stdout (or JSON), the verdict on stderr. */
export async function reportRun(cli: CliContext, result: RecordResult, json: boolean | undefined): Promise<number> {
  const { io } = cli;
  if (json) {
    cli.json({
      bundle: result.bundleDir, runId: result.runId, status: result.status, durationMs: result.durationMs,
      ...(result.error ? { error: result.error } : {}),
      ...(result.usage ? { usage: result.usage } : {}),
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    });
  } else {
    io.stdout(`${result.bundleDir}\n`);
  }
  for (const warning of result.warnings) io.stderr(`flowtape: warning: ${warning}\n`);
  const verdict =
    result.status === 'waiting'
      ? `waiting at checkpoint "${result.resumeState?.checkpoint ?? '?'}": continue with \`flowtape resume ${result.bundleDir}\``
      : `${result.status.replace('_', ' ')} in ${Math.round(result.durationMs)} ms${result.error ? `: ${result.error.message}` : ''}`;
  io.stderr(`flowtape: run ${verdict}\n`);
  if (result.usage) {
    // Loaded here, not at start-up: the schema package is only needed once a run has happened.
    const { describeUsage } = await import('@flowtape/schema');
    const usage = describeUsage(result.usage);
    if (usage) io.stderr(`flowtape: usage: ${usage}\n`);
  }
  return exitCodeFor(result.status);
}

/**
 * Live export: `--otlp [url]`, or on its own when the standard variables name a collector (as OpenTelemetry's own
 * SDKs do) unless OTEL_TRACES_EXPORTER=none or `--no-otlp`.
 */
export function liveExport(flags: LiveExportFlags, env: Record<string, string | undefined>): { otlp?: LiveOtlpOptions } {
  if (flags.otlp === false) return {};
  const fromEnv = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) && env.OTEL_TRACES_EXPORTER?.trim() !== 'none';
  if (flags.otlp === undefined && !fromEnv) return {};
  return {
    otlp: {
      ...(typeof flags.otlp === 'string' ? { endpoint: flags.otlp } : {}),
      ...(flags.otlpIncludeContent ? { includeContent: true } : {}),
      env,
    },
  };
}

export interface LiveExportFlags {
  otlp?: string | boolean;
  otlpIncludeContent?: boolean;
}

/** The live export options of `run` and `resume`. */
export function liveExportOptions(command: Command, what: string): Command {
  return command
    .option(
      '--otlp [endpoint]',
      `stream spans to an OpenTelemetry collector (OTLP/HTTP) as the ${what} goes; without a URL, or when OTEL_EXPORTER_OTLP_ENDPOINT is set, the OTEL_EXPORTER_OTLP_* variables say where. An unreachable collector is a warning, never a run failure`,
    )
    .option('--no-otlp', 'no live export, even when OTEL_EXPORTER_OTLP_ENDPOINT is set')
    .option('--otlp-include-content', 'live export also sends prompts, responses and tool arguments and results');
}

export const runCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    const command = program
      .command('run')
      .description('run a flow with tracing on; prints the bundle directory')
      .argument('<flow>', 'the flow file (TypeScript or JavaScript, `export default defineFlow(…)`)')
      .option('--input <json|@file>', 'the run input: JSON, or @path to a JSON file', undefined)
      .option('--out <dir>', 'runs root: the bundle is written to <dir>/<runId>', DEFAULT_RUNS_ROOT)
      .option('--cwd <dir>', "the run's working directory: agents and shell actions run there and agent file access stays inside it (default: the current directory)")
      .option('--agent <command>', 'the ACP agent command for nodes that name none')
      .option('--deterministic', 'fixed clock and ids, no machine paths (samples, goldens)')
      .addOption(new Option('--permission <policy>', PERMISSION_HELP).choices(PERMISSION_POLICIES))
      .option('--mcp-config <file>', MCP_CONFIG_HELP)
      .option('--auth <methodId>', AUTH_FLAG_HELP)
      .option('--run-id <id>', 'the run id (default: time + flow name + random)');
    liveExportOptions(command, 'run')
      .option('-q, --quiet', 'no per-node progress on stderr')
      .option('--json', 'print {bundle, runId, status, error, usage, warnings} as JSON instead of the bundle path')
      .action(
        cli.action(async (flowPath: string, flags: RunFlags) => {
          const { io } = cli;
          const input = parseInput(flags.input, io.cwd) ?? {};
          const cwd = runDirectory(io.cwd, flags.cwd);
          const mcpServers = flags.mcpConfig === undefined ? undefined : readMcpConfig(flags.mcpConfig, io.cwd);
          const { loadFlowFile } = await import('../flow-loader.ts');
          const { flow, file } = await loadFlowFile(flowPath, io.cwd);
          const controller = new AbortController();
          const stopListening = io.onInterrupt((signal) => {
            io.stderr(`flowtape: ${signal}: cancelling the run (again to quit at once)\n`);
            controller.abort(signal);
          });
          if (!flags.quiet) io.stderr(`flowtape: running ${flow.name}\n`);
          const { record } = await import('../../record.ts');
          const { progressObserver } = await import('../progress.ts');
          try {
            const result = await record(flow, input, {
              cwd,
              // Paths typed on the command line are relative to where they were typed, not to --cwd.
              outDir: resolve(io.cwd, flags.out ?? DEFAULT_RUNS_ROOT),
              flowFile: file,
              signal: controller.signal,
              ...(flags.agent ? { agentCommand: flags.agent } : {}),
              ...(flags.permission ? { permissionPolicy: flags.permission } : {}),
              ...(mcpServers ? { mcpServers } : {}),
              ...(flags.auth !== undefined ? { auth: authFlag(flags.auth) } : {}),
              ...(flags.deterministic ? { deterministic: true } : {}),
              ...(flags.runId ? { runId: flags.runId } : {}),
              ...liveExport(flags, io.env),
              ...(flags.quiet ? {} : { observer: progressObserver((text) => io.stderr(text)) }),
            });
            return reportRun(cli, result, flags.json);
          } finally {
            stopListening();
          }
        }),
      );
  },
};
