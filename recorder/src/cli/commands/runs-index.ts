/** `flowtape index <runs-root> [-o DIR]`: one row per run and per attempt, as NDJSON for DuckDB or ClickHouse. */
import { resolve } from 'node:path';
import type { CliCommand } from '../context.ts';
import { CliError } from '../errors.ts';
import { asCliErrors } from './tool-errors.ts';

export const indexCommand: CliCommand = {
  register(program, cli) {
    program
      .command('index')
      .summary('summarise many runs into tables (NDJSON) for DuckDB or ClickHouse')
      .description(
        'Write runs.ndjson (one row per run: status, flow, times, attempts, error, tokens, cost) and attempts.ndjson ' +
          '(one row per node attempt: node, status, duration, error, the edge it took, tokens) for every bundle of a ' +
          'runs root, folded from each trace by the reducer. Query them with DuckDB (read_json) or ClickHouse ' +
          '(JSONEachRow), e.g. which runs failed at a node this week. Bundles are only read.',
      )
      .argument('<runs-root>', 'a folder of bundles (or one bundle)')
      .option('-o, --output <dir>', 'the folder to write: a missing path or an empty folder, never replaced', 'flowtape-index')
      .option('--json', 'print the report as JSON')
      .action(
        cli.action(async (root: string, flags: { output: string; json?: boolean }) => {
          const { indexRuns } = await import('../../tools/runs-index.ts');
          const report = await asCliErrors(async () => {
            try {
              return await indexRuns(resolve(cli.io.cwd, root), { output: resolve(cli.io.cwd, flags.output) });
            } catch (error) {
              if (error instanceof Error && error.name === 'IndexError') throw new CliError(error.message, 2);
              throw error;
            }
          });
          if (flags.json) cli.json(report, 2);
          else cli.io.stdout(`${report.output}: ${report.runs} runs, ${report.attempts} attempts (runs.ndjson, attempts.ndjson)\n`);
          for (const line of report.skipped) cli.io.stderr(`flowtape: warning: skipped ${line}\n`);
          return 0;
        }),
      );
  },
};
