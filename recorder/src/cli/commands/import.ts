/** `flowtape import acpx <acpx-run-dir> [-o DIR]`: an acpx run bundle as a flowtape bundle. */
import { isAbsolute, resolve } from 'node:path';
import type { CliCommand } from '../context.ts';
import { UsageError } from '../errors.ts';
import { asCliErrors } from './tool-errors.ts';

export const importCommand: CliCommand = {
  register(program, cli) {
    program
      .command('import')
      .summary('convert a run recorded by another tool (acpx) into a bundle')
      .description(
        'Convert a run recorded by another tool into a flowtape bundle. Formats: `acpx` (acpx.flow-run-bundle.v1, ' +
          'from `acpx flow run` or FlowRunner; both the nodeType and the older kind form). Sessions and artifacts are kept; ' +
          'what acpx does not record (edges taken, stop reasons, the agent\'s own name and version) is derived from its flow ' +
          'definition and session traffic; turn ranges are acpx\'s own, so a respawned agent\'s handshake stays with the turn ' +
          'that respawned it.',
      )
      .argument('<format>', 'the source format: acpx')
      .argument('<dir>', 'the run directory to import (e.g. ~/.acpx/flows/runs/<run-id>)')
      .option('-o, --output <dir>', 'the flowtape bundle to create (default: <dir name>.flowtape here): a missing path or an empty folder, never replaced')
      .option('--json', 'print the report as JSON')
      .action(
        cli.action(async (format: string, dir: string, flags: { output?: string; json?: boolean }) => {
          if (format !== 'acpx') throw new UsageError(`import: unknown format "${format}" (known: acpx)`);
          const { defaultImportName, importAcpx } = await import('../../tools/import-acpx.ts');
          const source = isAbsolute(dir) ? dir : resolve(cli.io.cwd, dir);
          const output = resolve(cli.io.cwd, flags.output ?? defaultImportName(dir));
          const report = await asCliErrors(() => importAcpx(source, { output }));
          if (flags.json) {
            cli.json(report, 2);
          } else {
            cli.io.stdout(
              `${report.output}: run ${report.runId} (${report.status}), ${report.events} events, ${report.sessions} sessions, ${report.artifacts} artifacts (acpx ${report.form} form)\n`,
            );
            for (const warning of report.warnings) cli.io.stderr(`warning: ${warning}\n`);
          }
          return 0;
        }),
      );
  },
};
