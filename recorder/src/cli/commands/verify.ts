/**
 * `flowtape verify <bundle>`: one line per problem naming file and line or JSON pointer. The CLI's one rule for
 * verdicts: exit 0 valid, 1 invalid (the problems are listed), 2 not verifiable at all (missing, not a bundle, a
 * newer format) or a usage error. A live bundle (a run still recording) that is consistent so far is valid: exit 0,
 * with the verdict `live, valid so far`, so a watcher can tell it from a finished one without failing on the lag of
 * its snapshots.
 */
import type { Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';

export const verifyCommand: CliCommand = {
  register(program: Command, cli: CliContext) {
    program
      .command('verify')
      .summary('check a bundle against the v1 format (exit 0 valid, 1 invalid, 2 unreadable or usage error)')
      .description(
        'Check a bundle against the v1 format: schemas, seq, hashes, projections, sessions. One line per problem, ' +
          'naming the file and line or JSON pointer. A bundle that is not complete may have projections and session ' +
          'records that lag its trace (written at the last snapshot): noted, not a problem; in a complete bundle the ' +
          'same lag is a problem. Exit 0: valid, and also a live bundle (not complete, its writer still running on ' +
          'this machine) that is consistent so far: its verdict says "live, valid so far" (--json: "state": "live"). ' +
          '1: invalid (problems listed). 2: not verifiable (missing, not a bundle, a newer format) or a usage error.',
      )
      .argument('<bundle>', 'the bundle directory')
      .option('--json', 'print the report as JSON')
      .action(
        cli.action(async (bundle: string, flags: { json?: boolean }) => {
          const { io } = cli;
          const { verifyBundle } = await import('../../tools/verify.ts');
          const { readProgress } = await import('../progress.ts');
          const onProgress = readProgress(io.stderr, (events) => `verify: ${events.toLocaleString('en-US')} trace events checked…`);
          const report = await verifyBundle(bundle, { onProgress });
          if (flags.json) {
            cli.json(report, 2);
            return report.ok ? 0 : 1;
          }
          for (const problem of report.problems) io.stdout(`${problem.message}\n`);
          if (report.moreProblems > 0) io.stdout(`… and ${report.moreProblems} more problems\n`);
          for (const note of report.notes) io.stdout(`note: ${note}\n`);
          const s = report.summary;
          const facts = `${s.status ?? 'unknown status'}, ${s.events} events, ${s.sessions} session${s.sessions === 1 ? '' : 's'}, ${s.artifacts} artifact${s.artifacts === 1 ? '' : 's'}`;
          const count = report.problems.length + report.moreProblems;
          const valid = report.state === 'live' ? 'live, valid so far' : 'valid';
          io.stdout(report.ok ? `${bundle}: ${valid} (${facts})\n` : `${bundle}: invalid: ${count} problem${count === 1 ? '' : 's'} (${facts})\n`);
          return report.ok ? 0 : 1;
        }),
      );
  },
};
