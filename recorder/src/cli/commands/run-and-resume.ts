/**
 * What `run` and `resume` share: the agent's flags (command, permission policy, MCP servers, login) and live export's,
 * each registered once and turned into record options once; and the closing lines (the bundle path or JSON,
 * warnings, the verdict) with their exit code. (What guards the run itself, interrupts included: run-guard.ts.)
 */
import { Option, type Command } from 'commander';
import type { RecordResult } from '../../record.ts';
import type { PermissionPolicy } from '../../runtime/index.ts';
import type { LiveOtlpOptions } from '../../tools/export/otlp-live.ts';
import type { CliContext, CliIO } from '../context.ts';
import { AUTH_FLAG_HELP, authFlag, MCP_CONFIG_HELP, PERMISSION_HELP, PERMISSION_POLICIES, readMcpConfig } from '../input.ts';

export interface AgentFlags {
  agent?: string;
  permission?: PermissionPolicy;
  mcpConfig?: string;
  auth?: string;
}

/** `--agent`, `--permission`, `--mcp-config` (its help: `mcpConfigHelp`) and `--auth`. */
export function agentFlagOptions(command: Command, mcpConfigHelp = MCP_CONFIG_HELP): Command {
  return command
    .option('--agent <command>', 'the ACP agent command for nodes that name none')
    .addOption(new Option('--permission <policy>', PERMISSION_HELP).choices(PERMISSION_POLICIES))
    .option('--mcp-config <file>', mcpConfigHelp)
    .option('--auth <methodId>', AUTH_FLAG_HELP);
}

/** The record options the agent's flags give; reads `--mcp-config` (relative to `cwd`) now, so a bad file stops the command before the run. */
export function agentRunOptions(flags: AgentFlags, cwd: string) {
  const mcpServers = flags.mcpConfig === undefined ? undefined : readMcpConfig(flags.mcpConfig, cwd);
  return {
    ...(flags.agent ? { agentCommand: flags.agent } : {}),
    ...(flags.permission ? { permissionPolicy: flags.permission } : {}),
    ...(mcpServers ? { mcpServers } : {}),
    ...(flags.auth !== undefined ? { auth: authFlag(flags.auth) } : {}),
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

/**
 * Live export: `--otlp [url]`, or on its own when the standard variables name a collector (as OpenTelemetry's own
 * SDKs do) unless OTEL_TRACES_EXPORTER=none or `--no-otlp`.
 */
export function liveExport(flags: LiveExportFlags, io: Pick<CliIO, 'env' | 'stderr'>): { otlp?: LiveOtlpOptions } {
  const { env } = io;
  if (flags.otlp === false) return {};
  const fromEnv = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) && env.OTEL_TRACES_EXPORTER?.trim() !== 'none';
  if (flags.otlp === undefined && !fromEnv) return {};
  return {
    otlp: {
      ...(typeof flags.otlp === 'string' ? { endpoint: flags.otlp } : {}),
      ...(flags.otlpIncludeContent ? { includeContent: true } : {}),
      env,
      // A collector going away during a long run is said at the time; the warnings after the run sum it up.
      onNotice: (line) => io.stderr(`flowtape: ${line}\n`),
    },
  };
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
