/** `flowtape repair <bundle>`: torn last lines, abandoned runs, projections and manifest rebuilt from the trace. */
import type { CliCommand } from '../context.ts';
import type { RepairReport } from '../../tools/repair.ts';
import { argPath, asCliErrors } from './tool-errors.ts';

function describe(report: RepairReport, dryRun: boolean): string {
  const lines: string[] = [];
  const will = dryRun ? 'would ' : '';
  if (report.rebuiltStart) lines.push(`${will}rebuild run.started from manifest.json (the writer stopped before its first event was written)`);
  for (const torn of report.tornLines) lines.push(`${will}drop a torn last line from ${torn.file} (${torn.bytes} bytes)`);
  for (const file of report.terminatedLines) lines.push(`${will}add the missing newline after the last line of ${file}`);
  for (const session of report.failedSessions) {
    lines.push(`${will}record session ${session} as failed (its writer stopped during the agent handshake; traffic kept)`);
  }
  if (report.abandoned) {
    const attempts = report.interrupted.length > 0 ? `, ${report.interrupted.join(', ')} interrupted` : '';
    lines.push(`${will}mark the run abandoned (its writer is gone${attempts})`);
  }
  for (const file of report.rewritten) lines.push(`${will}rebuild ${file}`);
  if (lines.length === 0) lines.push('nothing to repair');
  lines.push(`${report.bundleDir}: ${report.status}, ${report.lastSeq} events`);
  for (const warning of report.warnings.slice(0, 20)) lines.push(`warning: ${warning}`);
  return lines.join('\n') + '\n';
}

export const repairCommand: CliCommand = {
  register(program, cli) {
    program
      .command('repair')
      .summary('make a bundle whose writer died pass verify again')
      .description(
        'Make a bundle whose writer died readable again: drop a torn last line, close open attempts as ' +
          '`interrupted` and the run as abandoned when no writer is alive, rebuild projections and the manifest ' +
          'from the trace. Takes the bundle lock (--dry-run only checks that no live writer holds it); never drops a ' +
          'complete line; running it again changes nothing.',
      )
      .argument('<bundle>', 'the bundle directory')
      .option('--force', 'repair even if the writer pid recorded in the manifest looks alive (or is unknown)')
      .option('--dry-run', 'say what would change, write nothing')
      .option('--json', 'print the report as JSON')
      .action(
        cli.action(async (bundle: string, flags: { force?: boolean; dryRun?: boolean; json?: boolean }) => {
          const { repairBundle } = await import('../../tools/repair.ts');
          const report = await asCliErrors(() => repairBundle(argPath(cli.io.cwd, bundle), { force: flags.force, dryRun: flags.dryRun }));
          if (flags.json) cli.json(report, 2);
          else cli.io.stdout(describe(report, flags.dryRun === true));
          return 0;
        }),
      );
  },
};
