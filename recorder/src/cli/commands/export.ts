/**
 * `flowtape export otlp <bundle|zip|runs-root>`: bundles → OpenTelemetry traces (OTLP/HTTP to a collector, or OTLP
 * JSON lines to a file), with the GenAI semantic conventions.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { asCliErrors } from './tool-errors.ts';

interface ExportOtlpFlags {
  endpoint?: string;
  output?: string;
  protocol?: 'http/json' | 'http/protobuf';
  header: string[];
  timeout?: number;
  includeContent?: boolean;
  json?: boolean;
  quiet?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * Mistakes in what the user asked for, and a collector that refuses the spans or cannot be reached: exit 2, the
 * command could not do its job (the README's rule; 1 is a verdict on the bundles, and export gives none).
 */
async function exportErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await asCliErrors(work);
  } catch (error) {
    if (error instanceof Error && error.name === 'OtlpConfigError') throw new CliError(error.message, 2);
    if (error instanceof Error && error.name === 'OtlpExportError') throw new CliError(error.message.split('\n')[0]!, 2);
    throw error;
  }
}

export const exportCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    const group = program.command('export').summary('export bundles to other tools (OpenTelemetry)').description('Export bundles to other tools.');
    group
      .command('otlp')
      .summary('send runs to an OpenTelemetry collector as traces')
      .description(
        'Send each run as one OpenTelemetry trace (OTLP/HTTP) with the GenAI semantic conventions: a root ' +
          '`invoke_workflow` span, a span per node attempt, `invoke_agent` per ACP turn (agent, session, stop reason, ' +
          'tokens), `execute_tool` per tool call, shell and function actions with exit codes. Ids come from the run and ' +
          'attempt ids: exporting twice gives the same trace. Every span carries flowtape.run.id and flowtape.seq.from/to ' +
          'to find its events in the bundle. Prompts, responses and tool arguments are left out unless --include-content. ' +
          'Without --endpoint or -o the standard OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT / _HEADERS / _PROTOCOL ' +
          'variables are used.',
      )
      .argument('<path>', 'a bundle directory, a packed bundle (.zip from `flowtape pack`), or a runs root (every bundle right below it)')
      .option('--endpoint <url>', 'the collector (OTLP/HTTP): a base URL like http://localhost:4318 (/v1/traces is added) or the full traces URL')
      .option('-o, --output <file>', 'write OTLP JSON instead, one request per line (a Collector otlpjsonfile receiver reads it); must not exist')
      .addOption(new Option('--protocol <protocol>', 'OTLP/HTTP encoding (default: OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf)').choices(['http/protobuf', 'http/json']))
      .option('--header <name=value>', 'an HTTP header for the collector, e.g. an API key (repeatable)', collect, [])
      .option('--timeout <ms>', 'give up on a request after this long, retries included (default: OTEL_EXPORTER_OTLP_TIMEOUT, else 10000)', (v: string) => {
        const ms = Number(v);
        if (!Number.isInteger(ms) || ms <= 0) throw new InvalidArgumentError('a whole number of milliseconds above 0');
        return ms;
      })
      .option('--include-content', 'also send prompts, responses (gen_ai.input/output.messages) and tool call arguments and results')
      .option('-q, --quiet', 'no per-run progress on stderr')
      .option('--json', 'print {target, runs: [{bundle, runId, traceId, spans}], spans} as JSON')
      .action(
        cli.action(async (path: string, flags: ExportOtlpFlags) => {
          if (flags.endpoint && flags.output) throw new CliError('give --endpoint or -o, not both', 2);
          const { exportOtlp } = await import('../../tools/export/otlp-export.ts');
          const { parseHeaders } = await import('../../tools/export/otlp-target.ts');
          const report = await exportErrors(async () =>
            exportOtlp(resolve(cli.io.cwd, path), {
              ...(flags.endpoint ? { endpoint: flags.endpoint } : {}),
              ...(flags.output ? { file: resolve(cli.io.cwd, flags.output) } : {}),
              ...(flags.protocol ? { protocol: flags.protocol } : {}),
              headers: parseHeaders(flags.header),
              ...(flags.timeout ? { timeoutMs: flags.timeout } : {}),
              ...(flags.includeContent ? { includeContent: true } : {}),
              env: cli.io.env,
              ...(flags.quiet ? {} : { onProgress: (line: string) => cli.io.stderr(`flowtape: ${line}\n`) }),
            }),
          );
          if (flags.json) cli.json(report, 2);
          else cli.io.stdout(`${report.spans} spans of ${report.runs.length} run${report.runs.length === 1 ? '' : 's'} → ${report.target}\n`);
          for (const run of report.runs) {
            for (const issue of run.issues.slice(0, 5)) cli.io.stderr(`flowtape: warning: ${issue}\n`);
          }
          return 0;
        }),
      );
  },
};
