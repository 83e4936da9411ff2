/**
 * `flowtape verify <bundle>`: one line per problem naming file and line or JSON pointer. Exit 0 valid; 2 invalid or
 * unreadable (a malformed bundle is bad input to every reader, as it is for `diff`).
 */
import type { Command } from 'commander';
import { verifyBundle } from '../../tools/verify.ts';
import type { CliCommand, CliContext } from '../context.ts';

export const verifyCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    program
      .command('verify')
      .description('check a bundle against the v1 format: schemas, seq, hashes, projections, sessions (exit 0 valid, 2 invalid or unreadable)')
      .argument('<bundle>', 'the bundle directory')
      .option('--json', 'print the report as JSON')
      .action(
        cli.action(async (bundle: string, flags: { json?: boolean }) => {
          const { io } = cli;
          const report = await verifyBundle(bundle);
          if (flags.json) {
            io.stdout(`${JSON.stringify(report, null, 2)}\n`);
            return report.ok ? 0 : 2;
          }
          for (const problem of report.problems) io.stdout(`${problem.message}\n`);
          if (report.moreProblems > 0) io.stdout(`… and ${report.moreProblems} more problems\n`);
          for (const note of report.notes) io.stdout(`note: ${note}\n`);
          const s = report.summary;
          const facts = `${s.status ?? 'unknown status'}, ${s.events} events, ${s.sessions} session${s.sessions === 1 ? '' : 's'}, ${s.artifacts} artifact${s.artifacts === 1 ? '' : 's'}`;
          const count = report.problems.length + report.moreProblems;
          io.stdout(report.ok ? `${bundle}: valid (${facts})\n` : `${bundle}: invalid: ${count} problem${count === 1 ? '' : 's'} (${facts})\n`);
          return report.ok ? 0 : 2;
        }),
      );
  },
};
