/**
 * `flowtape check <flow>`: loads a flow file the way `run` does, validates its definition, and type-checks it when
 * TypeScript is available. Exit 0 valid, 1 invalid (definition or type errors), 2 the file cannot be read.
 */
import type { Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';
import { UsageError } from '../errors.ts';

interface CheckReport {
  flow: string;
  name?: string;
  valid: boolean;
  problems: string[];
  typesChecked: boolean;
  note?: string;
}

export const checkCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    program
      .command('check')
      .summary('validate a flow file; type-check it when TypeScript is installed (exit 0 valid, 1 invalid, 2 unreadable)')
      .description(
        'Load a flow file the way `run` does, validate its definition, and type-check it with strict options when ' +
          'TypeScript can be found (the project\'s own first). Exit 0: valid. 1: invalid (problems listed as ' +
          'file:line:column). 2: the file cannot be read, or a usage error.',
      )
      .argument('<flow>', 'the flow file')
      .option('--no-types', 'skip the type check')
      .option('--json', 'print the report as JSON')
      .action(
        cli.action(async (flowPath: string, flags: { types: boolean; json?: boolean }) => {
          const { io } = cli;
          const { existsSync, statSync } = await import('node:fs');
          const { resolve } = await import('node:path');
          const file = resolve(io.cwd, flowPath);
          if (!existsSync(file)) throw new UsageError(`${flowPath}: no such flow file`);
          // Unreadable, not invalid (exit 2, as `run` says it): a folder has no definition to judge.
          if (!statSync(file).isFile()) throw new UsageError(`${flowPath}: not a file`);
          const report: CheckReport = { flow: file, valid: true, problems: [], typesChecked: false };
          const { loadFlowFile } = await import('../flow-loader.ts');
          try {
            const { flow } = await loadFlowFile(flowPath, io.cwd);
            report.name = flow.name;
          } catch (error) {
            report.valid = false;
            const line = (error as Error).message.split('\n')[0]!;
            report.problems.push(line.startsWith(`${flowPath}: `) ? line : `${flowPath}: ${line}`);
          }
          if (flags.types) {
            const { typecheckFlow } = await import('../../tools/typecheck-flow.ts');
            const types = await typecheckFlow(file);
            report.typesChecked = types.checked;
            if (types.note) report.note = types.note;
            if (types.diagnostics.length > 0) report.valid = false;
            report.problems.push(...types.diagnostics);
          }
          if (flags.json) {
            cli.json(report, 2);
          } else {
            for (const problem of report.problems) io.stdout(`${problem}\n`);
            if (report.note) io.stderr(`flowtape: note: ${report.note}\n`);
            const types = report.typesChecked ? ', types checked' : flags.types ? ', types not checked' : '';
            io.stdout(report.valid ? `${flowPath}: valid flow "${report.name}"${types}\n` : `${flowPath}: invalid: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}\n`);
          }
          return report.valid ? 0 : 1;
        }),
      );
  },
};
