/**
 * `flowtape verify <bundle...>`: one line per problem naming file and line or JSON pointer. The CLI's one rule for
 * verdicts: exit 0 valid, 1 invalid (the problems are listed), 2 not verifiable at all (missing, not a bundle, a
 * newer format) or a usage error. A live bundle (a run still recording) that is consistent so far is valid: exit 0,
 * with the verdict `live, valid so far`, so a watcher can tell it from a finished one without failing on the lag of
 * its snapshots.
 */
import type { Command } from 'commander';
import type { CliCommand, CliContext } from '../context.ts';
import type { VerifyReport } from '../../tools/verify.ts';
import { terminalSafeInline } from '@flowtape/schema/terminal-safe';

/** What verifyBundle throws for input it cannot verify at all (by name: the command loads no tool code at start). */
const UNVERIFIABLE = new Set(['VerifyInputError', 'NewerFormatError', 'BundleFormatError', 'UnsafeBundleError']);

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
          '1: invalid (problems listed). 2: not verifiable (missing, not a bundle, a newer format) or a usage error. ' +
          'Several bundles (e.g. .flowtape/runs/*/): each is verified in turn, its lines prefixed with it, and the exit ' +
          'code is the worst verdict.',
      )
      .argument('<bundles...>', 'the bundle directories (several: each is verified in turn, its lines prefixed with it)')
      .option('--json', 'print the report as JSON (several bundles: an array of reports; an unverifiable one is {bundle, ok: false, error})')
      .action(
        cli.action(async (bundles: string[], flags: { json?: boolean }) => {
          const { verifyBundle } = await import('../../tools/verify.ts');
          const { readProgress } = await import('../progress.ts');
          const onProgress = readProgress(cli.io.stderr, (events) => `verify: ${events.toLocaleString('en-US')} trace events checked…`);
          // One bundle: its report as it always was, and an unverifiable one is the command's error (exit 2).
          if (bundles.length === 1) {
            const report = await verifyBundle(bundles[0]!, { onProgress });
            if (flags.json) cli.json(report, 2);
            else printReport(cli, bundles[0]!, report, '');
            return report.ok ? 0 : 1;
          }
          // Several (a shell glob over a runs folder): every bundle is verified even when one cannot be; the exit
          // code is the worst verdict (2 unverifiable, then 1 invalid, else 0).
          let code = 0;
          const reports: unknown[] = [];
          for (const bundle of bundles) {
            try {
              const report = await verifyBundle(bundle, { onProgress });
              if (flags.json) reports.push(report);
              else printReport(cli, bundle, report, `${terminalSafeInline(bundle)}: `);
              if (!report.ok) code = Math.max(code, 1);
            } catch (error) {
              if (!(error instanceof Error && UNVERIFIABLE.has(error.name))) throw error;
              const line = error.message.split('\n')[0];
              if (flags.json) reports.push({ bundle, ok: false, error: line });
              cli.io.stderr(`flowtape: ${line}\n`);
              code = 2;
            }
          }
          if (flags.json) cli.json(reports, 2);
          return code;
        }),
      );
  },
};

/** A report as lines: problems and notes (each after `prefix`, which names the bundle when there are several), then the verdict. */
function printReport(cli: CliContext, bundle: string, report: VerifyReport, prefix: string): void {
  const { io } = cli;
  for (const problem of report.problems) io.stdout(`${prefix}${problem.message}\n`);
  if (report.moreProblems > 0) io.stdout(`${prefix}… and ${report.moreProblems} more problems\n`);
  for (const note of report.notes) io.stdout(`${prefix}note: ${note}\n`);
  const s = report.summary;
  const facts = `${s.status ?? 'unknown status'}, ${s.events} events, ${s.sessions} session${s.sessions === 1 ? '' : 's'}, ${s.artifacts} artifact${s.artifacts === 1 ? '' : 's'}`;
  const count = report.problems.length + report.moreProblems;
  const valid = report.state === 'live' ? 'live, valid so far' : 'valid';
  const name = terminalSafeInline(bundle);
  io.stdout(report.ok ? `${name}: ${valid} (${facts})\n` : `${name}: invalid: ${count} problem${count === 1 ? '' : 's'} (${facts})\n`);
}
